"""The adapter contract, declarative mapping helpers and the adapter registry.

An adapter speaks to one CRM or ERP. Write one by subclassing :class:`Adapter`,
declaring each entity's :class:`EntityMapping`, and implementing the abstract
methods; test it with :class:`crmerp.testing.conformance.AdapterConformance`.
"""

from crmerp.adapters._base import Adapter
from crmerp.adapters._mapping import (
    EntityMapping,
    FieldSpec,
    RecordMapping,
    as_list,
    day,
    each,
    field,
    first_or_none,
    money,
    nested,
    parse_date,
    parse_datetime,
    timestamp,
    value_map,
)
from crmerp.adapters._records import (
    ENTITIES,
    Capabilities,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    WriteStatus,
    answer_for,
    global_id_of,
    reference_for,
    stamped_for,
)
from crmerp.adapters._registry import adapter_class, available_adapters, register_adapter
from crmerp.adapters._transforms import (
    AddressSlots,
    first_phone,
    null_as,
    numeric_id,
    phone_number,
    text_id,
)

__all__ = [
    "ENTITIES",
    "Adapter",
    "AddressSlots",
    "Capabilities",
    "EntityMapping",
    "FieldSpec",
    "NativeRecord",
    "Page",
    "RecordMapping",
    "WriteKind",
    "WriteOp",
    "WriteResult",
    "WriteStatus",
    "adapter_class",
    "answer_for",
    "as_list",
    "available_adapters",
    "day",
    "each",
    "field",
    "first_or_none",
    "first_phone",
    "global_id_of",
    "money",
    "nested",
    "null_as",
    "numeric_id",
    "parse_date",
    "parse_datetime",
    "phone_number",
    "reference_for",
    "register_adapter",
    "stamped_for",
    "text_id",
    "timestamp",
    "value_map",
]
