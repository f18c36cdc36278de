"""SQLite statements run straight through the driver (``sqlite3``).

SQLAlchemy's per-row parameter handling costs several times what SQLite takes to
run a small statement. For the statements the engine runs for every record
(staging, links, bases, audit, intents), the statement is compiled once and each
row is only put in order and converted by the column types' bind processors.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import attrs

__all__ = ["DriverForm", "driver_form", "driver_params", "driver_tuples"]


@attrs.frozen
class DriverForm:
    """A statement compiled for the driver.

    ``names`` are the parameters in order, ``processors`` their bind processors
    (``None`` where the value goes in as it is), ``constants`` the values fixed
    in the statement (a LIKE pattern, say).
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]
    positional: bool
    constants: dict[str, Any]
    converted: tuple[tuple[int, Any], ...]
    getter: Any


_FORMS: dict[tuple[str, int], tuple[Any, DriverForm]] = {}


def driver_form(dialect: Any, stmt: Any) -> DriverForm:
    """``stmt`` compiled for ``dialect``'s driver, once per statement. The cache
    holds the statement too, so its id cannot be taken by another."""
    key = (dialect.name, id(stmt))
    cached = _FORMS.get(key)
    if cached is not None and cached[0] is stmt:
        return cached[1]
    compiled = stmt.compile(dialect=dialect)
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup if positional else compiled.binds)
    found = compiled._bind_processors
    processors = tuple(found.get(n) for n in names)
    constants = {
        name: bind.value
        for name, bind in compiled.binds.items()
        if bind.value is not None and not bind.required
    }
    form = DriverForm(
        compiled.string,
        names,
        processors,
        positional,
        constants,
        tuple((i, p) for i, p in enumerate(processors) if p is not None),
        itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],)),
    )
    _FORMS[key] = (stmt, form)
    return form


def driver_params(form: DriverForm, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The driver's parameters for ``rows`` (dicts by parameter name)."""
    if form.constants:
        rows = [{**form.constants, **row} for row in rows]
    if not form.positional:
        pairs = tuple(zip(form.names, form.processors, strict=True))
        return [
            {n: row[n] if p is None or row[n] is None else p(row[n]) for n, p in pairs}
            for row in rows
        ]
    getter = form.getter
    if not form.converted:
        return [getter(row) for row in rows]
    params: list[Any] = []
    for row in rows:
        values = list(getter(row))
        for index, processor in form.converted:
            if values[index] is not None:
                values[index] = processor(values[index])
        params.append(tuple(values))
    return params


def driver_tuples(
    form: DriverForm,
    fixed: dict[str, Any],
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> list[tuple[Any, ...]] | None:
    """The driver's parameters for ``rows`` given as tuples of ``columns``, with
    ``fixed`` holding the values every row shares (converted once, not per row).

    Only for a positional statement whose parameters are the fixed ones around
    ``columns`` in that order, none of the columns needing conversion; ``None``
    otherwise (the caller then goes through :func:`driver_params`).
    """
    if not form.positional or form.constants:
        return None
    names = form.names
    start = len(names) - len(columns)
    lead = next((i for i, name in enumerate(names) if name not in fixed), len(names))
    if lead > start or names[lead : lead + len(columns)] != columns:
        return None
    processors = form.processors
    if any(p is not None for p in processors[lead : lead + len(columns)]):
        return None
    if set(names[:lead]) | set(names[lead + len(columns) :]) != set(fixed):
        return None
    done = [
        fixed[name] if p is None or fixed[name] is None else p(fixed[name])
        for name, p in zip(names, processors, strict=True)
        if name in fixed
    ]
    head, tail = tuple(done[:lead]), tuple(done[lead:])
    if tail:
        return [head + row + tail for row in rows]
    return [head + row for row in rows]
