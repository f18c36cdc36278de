"""Field specs and transforms the fakes need beyond the stock mapping helpers.

They show what an integrator writes when a system's shape is not one field per
canonical field: addresses kept as fixed slots, emails and phones mixed in one
list of contact mechanisms, lines whose currency lives on the document header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crmerp._errors import MappingError
from crmerp.adapters import RecordMapping, each
from crmerp.adapters._transforms import (
    AddressSlots,
    first_phone,
    null_as,
    numeric_id,
    phone_number,
    text_id,
)

__all__ = [
    "AddressSlots",
    "ContactMechanisms",
    "HeaderCurrencyLines",
    "first_phone",
    "null_as",
    "numeric_id",
    "phone_number",
    "text_id",
]


def _same(value: Any) -> Any:
    return value


@attrs.frozen
class ContactMechanisms:
    """Emails or phones kept as typed items of one shared native list.

    ``read_types`` are the item types read into this field; writing adds items of
    ``write_type`` to the list, next to what other fields of the list wrote.
    """

    canonical: str
    native: str
    read_types: frozenset[str]
    write_type: str
    to_native: Callable[[Any], Any] = _same

    @property
    def sources(self) -> frozenset[str]:
        """The shared native list."""
        return frozenset({self.native})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        """The values of the items whose type this field reads."""
        raw = payload.get(self.native)
        if raw is None:
            out[self.canonical] = []
            return
        if not isinstance(raw, list) or not all(isinstance(i, Mapping) for i in raw):
            raise MappingError(
                f"{self.native} is not a list of objects", field=self.canonical, value=raw
            )
        out[self.canonical] = [i.get("value") for i in raw if i.get("type") in self.read_types]

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """Append one item per value to the shared list."""
        if self.canonical not in record:
            return
        items = payload.setdefault(self.native, [])
        for value in record[self.canonical] or ():
            items.append({"type": self.write_type, "value": self.to_native(value)})


@attrs.frozen
class HeaderCurrencyLines:
    """Lines whose money has no currency of its own: it is the document's.

    ``mapping`` reads the line's currency from the key ``currency``, which this
    spec fills from the header field ``header`` on reading and drops on writing.
    """

    canonical: str
    native: str
    mapping: RecordMapping[Any]
    header: str = "currency"

    @property
    def sources(self) -> frozenset[str]:
        """The native lines and the header currency."""
        return frozenset({self.native, self.header})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        """The lines, each read as if it carried the header currency."""
        raw = payload.get(self.native)
        currency = payload.get(self.header)
        if isinstance(raw, list):
            raw = [{**i, "currency": currency} if isinstance(i, Mapping) else i for i in raw]
        each(self.canonical, self.native, self.mapping).load({self.native: raw}, out)

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """The lines, without a currency of their own."""
        lines: dict[str, Any] = {}
        each(self.canonical, self.native, self.mapping).dump(record, lines)
        if self.native in lines:
            payload[self.native] = [
                {k: v for k, v in line.items() if k != "currency"}
                for line in lines[self.native] or ()
            ]


def _plain(value: Any) -> dict[str, Any]:
    return value.model_dump() if hasattr(value, "model_dump") else dict(value)
