"""Transforms and field specs for native shapes that are not one field per canonical field.

The shipped adapters use them; an integrator's adapter may too:

* :func:`null_as`: a native ``None`` or ``""`` read as a default;
* :func:`text_id` and :func:`numeric_id`: ids as the engine's strings and back;
* :func:`phone_number` and :func:`first_phone`: phones for systems with text fields;
* :class:`AddressSlots`: addresses kept flat, one native slot per kind
  (``BillingAddress``, ``ShippingAddress``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import DataError, MappingError
from crmerp.adapters._mapping import RecordMapping

__all__ = ["AddressSlots", "first_phone", "null_as", "numeric_id", "phone_number", "text_id"]


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


def _plain(value: Any) -> dict[str, Any]:
    return value.model_dump() if hasattr(value, "model_dump") else dict(value)
