"""What a fake system's server checks on every write made through its front door."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmerp._errors import DataError

__all__ = ["TableSchema", "WriteRefused"]


class WriteRefused(DataError):
    """A fake system refused a write, as its server would; ``table`` and ``field`` say why."""

    def __init__(
        self,
        message: str,
        *,
        table: str,
        field: str | None = None,
        value: Any = None,
        system: str | None = None,
    ) -> None:
        self.table = table
        super().__init__(f"{table}: {message}", field=field, value=value, system=system)


def _frozen_codes(codes: Mapping[str, Any]) -> Mapping[str, frozenset[Any]]:
    return {path: frozenset(values) for path, values in codes.items()}


@attrs.frozen
class TableSchema:
    """The server-side rules of one native table.

    Paths are dotted and walk into lists of objects (``"lines.quantity"`` is the
    quantity of every line). ``decimals`` hold money and quantities: a float is
    refused there, strings and ints are accepted.
    """

    required: tuple[str, ...] = ()
    codes: Mapping[str, frozenset[Any]] = attrs.field(factory=dict, converter=_frozen_codes)
    decimals: tuple[str, ...] = ()
    links: Mapping[str, str] = attrs.field(factory=dict)
    texts: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = attrs.field(factory=dict)

    def check(
        self,
        table: str,
        values: dict[str, Any],
        *,
        decimal: Callable[[Decimal], Any],
        exists: Callable[[str, Any], bool],
    ) -> None:
        """Check ``values`` in place, turning decimals into the system's form.

        Raises :class:`WriteRefused` naming the first field that breaks a rule.
        """
        for path in self.lists:
            for holder, key in _slots(values, path):
                _check_list(table, path, holder.get(key))
        for path in self.texts:
            for holder, key in _slots(values, path):
                if holder.get(key) is not None and not isinstance(holder[key], str):
                    raise WriteRefused(
                        f"{path} must be text", table=table, field=path, value=holder[key]
                    )
        for path in self.required:
            for holder, key in _slots(values, path):
                if holder.get(key) in (None, ""):
                    raise WriteRefused(f"{path} is required", table=table, field=path)
        for path, allowed in self.codes.items():
            for holder, key in _slots(values, path):
                _check_code(table, path, holder.get(key), allowed)
        for path in self.decimals:
            for holder, key in _slots(values, path):
                if holder.get(key) is not None:
                    holder[key] = decimal(_decimal(table, path, holder[key]))
        for path, target in self.links.items():
            for holder, key in _slots(values, path):
                if holder.get(key) is not None and not exists(target, holder[key]):
                    raise WriteRefused(
                        f"{path} refers to a {target} {holder[key]!r} that does not exist",
                        table=table,
                        field=path,
                        value=holder[key],
                    )


def _slots(data: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """Where ``path`` ends in ``data``: each (holder, key), lists walked into."""
    if "." not in path:
        return [(data, path)]
    head, rest = _split(path)
    if rest is None:
        return [(data, head)]
    child = data.get(head)
    if child is None:
        return []
    found: list[tuple[dict[str, Any], str]] = []
    for item in child if isinstance(child, list) else (child,):
        if isinstance(item, dict):
            found.extend(_slots(item, rest))
    return found


@functools.lru_cache(maxsize=1024)
def _split(path: str) -> tuple[str, str | None]:
    head, _, rest = path.partition(".")
    return head, rest or None


def _check_list(table: str, path: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise WriteRefused(
            f"{path} must be a list of objects", table=table, field=path, value=value
        )


def _check_code(table: str, path: str, value: Any, allowed: frozenset[Any]) -> None:
    if value is None:
        return
    try:
        known = value in allowed and isinstance(value, bool) == _has_bool(allowed)
    except TypeError:
        known = False
    if not known:
        raise WriteRefused(
            f"{path} {value!r} is not one of {sorted(map(str, allowed))}",
            table=table,
            field=path,
            value=value,
        )


@functools.lru_cache(maxsize=256)
def _has_bool(allowed: frozenset[Any]) -> bool:
    return any(isinstance(code, bool) for code in allowed)


def _decimal(table: str, path: str, value: Any) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, int | str | Decimal):
        raise WriteRefused(
            f"{path} must be a decimal number (a string or an integer), not {type(value).__name__}",
            table=table,
            field=path,
            value=value,
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise WriteRefused(
            f"{path} {value!r} is not a number", table=table, field=path, value=value
        ) from None
    if not number.is_finite():
        raise WriteRefused(f"{path} {value!r} is not finite", table=table, field=path, value=value)
    return number
