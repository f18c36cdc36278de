"""Compiled mappings give what the field-by-field interpretation gives, errors too."""

from collections import OrderedDict
from typing import Any

import pytest

from crmerp import MappingError
from crmerp._errors import DataError
from crmerp.adapters import ENTITIES, EntityMapping, RecordMapping, field, money
from crmerp.adapters.bottlecrm._mappings import MAPPINGS as BOTTLECRM
from crmerp.adapters.tryton._mappings import MAPPINGS as TRYTON
from crmerp.models import Money
from crmerp.testing._crm_mapping import CRM_MAPPINGS
from crmerp.testing._erp_mapping import ERP_MAPPINGS
from crmerp.testing._samples import sample_record

_ALL = [
    (name, entity, mapping)
    for name, mappings in (
        ("crm", CRM_MAPPINGS),
        ("erp", ERP_MAPPINGS),
        ("bottlecrm", BOTTLECRM),
        ("tryton", TRYTON),
    )
    for entity, mapping in mappings.items()
]
_REFS = {entity: ["11", "12"] for entity in ENTITIES}


def _outcome(fn: Any, value: Any) -> Any:
    try:
        return ("ok", fn(value))
    except MappingError as exc:
        return ("error", str(exc), exc.field, repr(exc.value))
    except Exception as exc:  # both ways must fail alike, whatever the error
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize(
    ("system", "entity", "mapping"), _ALL, ids=[f"{s}-{e}" for s, e, _ in _ALL]
)
def test_compiled_mapping_equals_field_by_field(
    system: str, entity: str, mapping: EntityMapping
) -> None:
    for n in range(3):
        record = sample_record(entity, n, _REFS).model_dump()
        payload = mapping._dump_each(record)
        assert mapping.dump(record) == payload
        assert list(mapping.dump(record)) == list(payload)
        assert _outcome(mapping.load, payload) == _outcome(mapping._load_each, payload)
        damaged = {key: [] for key in payload}
        assert _outcome(mapping.load, damaged) == _outcome(mapping._load_each, damaged)
        assert _outcome(mapping.load, {}) == _outcome(mapping._load_each, {})


def _sample_mapping() -> RecordMapping[Any]:
    from crmerp.models import PriceListItem

    def refuse(_value: Any) -> Any:
        raise DataError("no such code")

    def number(value: Any) -> Any:
        if not str(value).isdigit():
            raise DataError(f"{value!r} is not a number")
        return float(value)

    return RecordMapping(
        PriceListItem,
        [
            field("product_id", "Product"),
            money("unit_price", amount="Price", currency="Currency", optional=False),
            field("min_quantity", "Min", default="1", to_native=refuse),
            field("discount_percent", "Discount.Value", to_canonical=number),
        ],
    )


def test_compiled_mapping_reads_defaults_nested_paths_and_non_dict_payloads() -> None:
    mapping = _sample_mapping()
    payload = {"Product": "7", "Price": "2.50", "Currency": "EUR", "Discount": {"Value": "5"}}
    expected = {
        "product_id": "7",
        "unit_price": Money("2.50", "EUR"),
        "min_quantity": "1",
        "discount_percent": 5.0,
    }
    assert mapping.load(payload) == expected
    assert mapping.load(OrderedDict(payload)) == expected
    with pytest.raises(MappingError, match=r"Discount\.Value") as caught:
        mapping.load({**payload, "Discount": {"Value": "x"}})
    assert caught.value.field == "discount_percent"


def test_compiled_dump_names_the_field_that_failed() -> None:
    mapping = _sample_mapping()
    with pytest.raises(MappingError, match="no such code") as caught:
        mapping.dump({"product_id": "7", "min_quantity": "3"})
    assert caught.value.field == "min_quantity"
    assert caught.value.value == "3"
