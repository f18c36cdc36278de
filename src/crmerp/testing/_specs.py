"""Field specs and transforms the fakes need beyond the stock mapping helpers.

They show what an integrator writes when a system's shape is not one field per
canonical field: addresses kept as fixed slots, emails and phones mixed in one
list of contact mechanisms, lines whose currency lives on the document header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import DataError, MappingError
from crmerp.adapters import RecordMapping, each

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


def null_as(default: Any) -> Callable[[Any], Any]:
    """A reader that turns a native ``None`` or ``""`` into ``default``."""

    def read(value: Any) -> Any:
        return default if value is None or value == "" else value

    return read


def text_id(value: Any) -> str | None:
    """A native id (number or text) as the string the engine works with."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DataError(f"{type(value).__name__} {value!r} is not an id", value=value)
    return str(value)


def numeric_id(value: Any) -> int | None:
    """An id string handed by the engine as the integer a numeric-id system wants."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise DataError(f"{value!r} is not a numeric id", value=value)


def phone_number(value: Any) -> Any:
    """The number of a canonical phone (a dict or a ``Phone``), for native text fields."""
    if isinstance(value, Mapping):
        return value.get("number")
    return getattr(value, "number", value)


def first_phone(values: Sequence[Any]) -> Any:
    """The number of the first phone, or ``None``: for systems with one phone field."""
    return phone_number(values[0]) if values else None


def _same(value: Any) -> Any:
    return value


def _where(problem: DataError, place: str) -> DataError:
    problem.field = f"{place}.{problem.field}" if problem.field else place
    problem.args = (problem._render(problem.reason),)
    return problem


@attrs.frozen
class AddressSlots:
    """A list of addresses kept in one native slot per kind (``BillingAddress``...).

    Reading gives one address per filled slot; writing keeps the first address of
    each kind and drops the rest, as the system cannot hold them.
    """

    canonical: str
    slots: Mapping[str, str]
    mapping: RecordMapping[Any]

    @property
    def sources(self) -> frozenset[str]:
        """The native slot names."""
        return frozenset(self.slots.values())

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        """One canonical address per non-empty slot, in slot order."""
        found = []
        for kind, key in self.slots.items():
            raw = payload.get(key)
            if raw is None or raw == {}:
                continue
            if not isinstance(raw, Mapping):
                raise MappingError(f"{key} is not an object", field=self.canonical, value=raw)
            try:
                found.append({**self.mapping.load(raw), "kind": kind})
            except DataError as exc:
                raise _where(exc, f"{self.canonical}.{kind}") from None
        out[self.canonical] = found

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """The first address of each kind into its slot; ``None`` for an empty slot."""
        if self.canonical not in record:
            return
        addresses = [_plain(a) for a in record[self.canonical] or ()]
        for kind, key in self.slots.items():
            first = next((a for a in addresses if str(a.get("kind")) == kind), None)
            payload[key] = None if first is None else self.mapping.dump(first)


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
