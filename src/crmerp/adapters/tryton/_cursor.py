"""Change feed over Tryton's modification stamps: positions, cursors and the sweep.

Tryton keeps no change log, only ``create_date``/``write_date`` on every row
(``last_modified_at`` is their ``COALESCE``). One crmerp record is several rows:
a customer is a party plus its addresses, contact mechanisms and identifiers,
and editing an address does not touch the party. So a record's *position* in
the feed is ``(M, id)`` where ``M`` is the newest stamp among all its rows and
``id`` the record's id; pages are in position order and a cursor is the
position of the last record returned.

Each table that can carry a change is a :class:`ChangeSource`: it names the
stamp to read and the field that holds the record's id (``id`` for the record
itself, ``party`` for an address). A page is built by :func:`sweep`:

1. from each source, the first ``limit`` rows after the cursor in
   ``(stamp, record id)`` order;
2. the *horizon* ``B`` is the smallest last position among the sources that
   filled their limit (a source that did not is exhausted): every row up to
   ``B`` has been seen, in every table;
3. the records of those rows are loaded with all their rows, which gives each
   its position; records with a position after ``B`` are left for later (their
   newest row is beyond what was scanned), the rest are returned in position
   order, at most ``limit`` of them;
4. the new cursor is the position of the last record returned, or ``B`` when
   all records up to ``B`` were returned.

:func:`read` repeats sweeps until a page is full or the feed is exhausted.

A record that changes while paging moves to a later position and is found
again there; one that did not change is never returned twice, because its
position is at or before the cursor. Records sharing one stamp (a bulk import
commits them all with the same time) are ordered by id, so a page boundary
inside them loses none.

Stamps are taken when the writing transaction runs, not when it commits; a
long transaction can commit rows stamped earlier than rows already read. The
feed therefore stops ``settle`` seconds before "now" (see :func:`cap_position`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from crmerp._errors import UsageError
from crmerp.adapters._records import NativeRecord
from crmerp.adapters.tryton._rpc import TrytonRPC

__all__ = [
    "ChangeSource",
    "Loaded",
    "Position",
    "Sweep",
    "cap_position",
    "decode_cursor",
    "encode_cursor",
    "read",
    "sweep",
]

MAX_SWEEPS: Final = 20
"""Sweeps :func:`read` makes at most for one page before returning it short."""

_VERSION: Final = "t1"
_INACTIVE_TOO: Final = {"active_test": False}


@attrs.frozen(order=True)
class Position:
    """Where a record sits in the change feed: its newest stamp, then its id."""

    stamp: dt.datetime
    key: int


def encode_cursor(position: Position) -> str:
    """The opaque cursor text of ``position`` (``t1|<ISO stamp>|<id>``)."""
    stamp = position.stamp.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return f"{_VERSION}|{stamp}|{position.key}"


def decode_cursor(cursor: str | None) -> Position | None:
    """The position inside a cursor made by :func:`encode_cursor`; ``None`` for ``None``."""
    if cursor is None:
        return None
    parts = cursor.split("|")
    try:
        if len(parts) != 3 or parts[0] != _VERSION:
            raise ValueError(cursor)
        stamp = dt.datetime.fromisoformat(parts[1])
        if stamp.tzinfo is None:
            raise ValueError(cursor)
        return Position(stamp.astimezone(dt.UTC), int(parts[2]))
    except ValueError:
        raise UsageError(
            f"{cursor!r} is not a Tryton adapter cursor", code="tryton-cursor"
        ) from None


def cap_position(now: dt.datetime, settle_seconds: float) -> Position:
    """The first position the feed must not reach yet: ``settle`` seconds ago."""
    return Position(now - dt.timedelta(seconds=settle_seconds), 0)


@attrs.frozen
class ChangeSource:
    """A table whose rows, when they change, change a record of the entity.

    ``stamp`` is the field holding the row's modification time and ``key`` the
    field holding the record's id (``"id"`` when the row is the record).
    ``domain`` limits the rows (e.g. customer invoices only). ``fanout`` is about
    how many rows one record has here; a scan reads that many times the page size,
    so a page is not cut short by one record's many rows.
    """

    model: str
    key: str = "id"
    stamp: str = "last_modified_at"
    domain: tuple[Any, ...] = ()
    fanout: int = 1

    def order_key(self) -> str:
        """The ordering expression of ``key``: by id, never by the target's name."""
        return "id" if self.key == "id" else f"{self.key}.id"


@attrs.frozen
class Loaded:
    """A record as the loader built it: the native record and its position stamp."""

    record: NativeRecord
    stamp: dt.datetime


Loader = Callable[[Sequence[int]], Mapping[int, Loaded]]
"""Builds the native records of the given ids (missing ids left out)."""


@attrs.frozen
class Sweep:
    """One page of the feed: records in position order, the next cursor, more to read."""

    records: list[NativeRecord]
    cursor: Position | None
    more: bool


def _after(source: ChangeSource, position: Position | None) -> list[Any]:
    if position is None:
        return []
    return [
        "OR",
        [(source.stamp, ">", position.stamp)],
        [(source.stamp, "=", position.stamp), (source.key, ">", position.key)],
    ]


def _stamp_of(row: Mapping[str, Any], path: str) -> dt.datetime:
    value: Any = row
    head, _, rest = path.partition(".")
    while rest:
        value = value[f"{head}."]
        head, _, rest = rest.partition(".")
    stamp = value[head]
    if not isinstance(stamp, dt.datetime):
        raise TypeError(f"{path} is not a timestamp: {stamp!r}")
    return stamp


def _key_of(row: Mapping[str, Any], key: str) -> int:
    return int(row[key])


def scan(
    rpc: TrytonRPC,
    source: ChangeSource,
    after: Position | None,
    cap: Position,
    limit: int,
) -> list[Position]:
    """The first ``limit`` row positions of ``source`` after ``after``, before ``cap``."""
    domain: list[Any] = [*source.domain, (source.stamp, "<", cap.stamp)]
    if after is not None:
        domain.append(_after(source, after))
    rows = rpc.search_read(
        source.model,
        domain,
        [source.stamp, source.key],
        limit=limit,
        order=[(source.stamp, "ASC"), (source.order_key(), "ASC")],
        context=_INACTIVE_TOO,
    )
    return [Position(_stamp_of(row, source.stamp), _key_of(row, source.key)) for row in rows]


def sweep(
    rpc: TrytonRPC,
    sources: Iterable[ChangeSource],
    load: Loader,
    after: Position | None,
    cap: Position,
    limit: int,
    want: int | None = None,
) -> Sweep:
    """The next records after ``after``, at most ``want`` (see the module docstring).

    Each source is scanned for ``limit`` times its fanout rows.
    """
    want = limit if want is None else want
    horizon: Position | None = None  # None: every source is exhausted
    seen: list[Position] = []
    for source in sources:
        size = limit * source.fanout
        found = scan(rpc, source, after, cap, size)
        seen.extend(found)
        if len(found) >= size and (horizon is None or found[-1] < horizon):
            horizon = found[-1]
    candidates = sorted({p.key for p in seen if horizon is None or p <= horizon})
    loaded = load(candidates) if candidates else {}
    ready = sorted(
        (
            (Position(item.stamp, key), item.record)
            for key, item in loaded.items()
            if (after is None or Position(item.stamp, key) > after)
            and (horizon is None or Position(item.stamp, key) <= horizon)
            and Position(item.stamp, key) < cap
        ),
        key=lambda pair: pair[0],
    )
    if len(ready) > want:
        ready = ready[:want]
        return Sweep([r for _, r in ready], ready[-1][0], True)
    if horizon is not None:
        return Sweep([r for _, r in ready], horizon, True)
    return Sweep([r for _, r in ready], ready[-1][0] if ready else after, False)


def read(
    rpc: TrytonRPC,
    sources: Sequence[ChangeSource],
    load: Loader,
    after: Position | None,
    cap: Position,
    limit: int,
) -> Sweep:
    """A page of up to ``limit`` records: sweeps until it is full, the feed is
    exhausted or :data:`MAX_SWEEPS` were made (then the page may be short)."""
    records: list[NativeRecord] = []
    cursor = after
    for _ in range(MAX_SWEEPS):
        page = sweep(rpc, sources, load, cursor, cap, limit, limit - len(records))
        records.extend(page.records)
        cursor = page.cursor
        if not page.more or len(records) >= limit:
            return Sweep(records, cursor, page.more)
    return Sweep(records, cursor, True)
