"""What the two fake systems share: tables of rows, a change sequence, a file.

Every change (create, edit, delete) takes the next number of one server-side
sequence and a modification stamp from the system's :class:`FakeClock`. The
sequence only grows; the stamp is whatever the clock says, skewed or not.
"""

from __future__ import annotations

import os
import pickle
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import attrs

from crmerp._errors import StateCorrupt, UsageError
from crmerp.testing._clock import FakeClock
from crmerp.testing._copy import copy_value
from crmerp.testing._persist import dump_json, load_json
from crmerp.testing._schema import TableSchema, WriteRefused

__all__ = ["FakeSystem", "Snapshot"]

IdT = TypeVar("IdT", str, int)
_VERSION = 1


class _Row(NamedTuple):
    """One stored row. Its fields are kept pickled: a copy is made on every read
    and write anyway, and bytes give the garbage collector nothing to walk, which
    a table of a hundred thousand nested dicts otherwise makes it do over and over.
    """

    key: str
    packed: bytes
    seq: int
    stamp: datetime
    created: datetime
    deleted: bool
    reference: str | None

    @property
    def values(self) -> dict[str, Any]:
        """A fresh copy of the row's fields."""
        values: dict[str, Any] = pickle.loads(self.packed)
        return values


def _row(
    key: str,
    values: dict[str, Any],
    seq: int,
    stamp: datetime,
    created: datetime,
    deleted: bool,
    reference_field: str,
) -> _Row:
    reference = values.get(reference_field)
    return _Row(
        key,
        pickle.dumps(values, pickle.HIGHEST_PROTOCOL),
        seq,
        stamp,
        created,
        deleted,
        reference if isinstance(reference, str) else None,
    )


class _Rows:
    """Rows by key, held as plain tuples: the collector stops tracking a tuple of
    plain values, never an instance of a tuple subclass such as :class:`_Row`."""

    def __init__(self) -> None:
        self._plain: dict[str, tuple[Any, ...]] = {}

    def get(self, key: str) -> _Row | None:
        plain = self._plain.get(key)
        return None if plain is None else _Row._make(plain)

    def __getitem__(self, key: str) -> _Row:
        return _Row._make(self._plain[key])

    def __setitem__(self, key: str, row: _Row) -> None:
        self._plain[key] = tuple(row)

    def __contains__(self, key: object) -> bool:
        return key in self._plain

    def __len__(self) -> int:
        return len(self._plain)

    def pop(self, key: str) -> _Row:
        return _Row._make(self._plain.pop(key))

    def values(self) -> Iterator[_Row]:
        return map(_Row._make, self._plain.values())


@attrs.define
class _Table:
    rows: _Rows = attrs.field(factory=_Rows)
    log: list[tuple[int, str]] = attrs.field(factory=list)
    counter: int = 0
    refs: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Reference -> keys of the live rows carrying it (tuples: nothing for the
    garbage collector to walk)."""


@attrs.frozen
class Snapshot:
    """One row as the server answers it: its id, payload, sequence and delete mark."""

    id: str
    payload: dict[str, Any]
    sequence: int
    deleted: bool


class FakeSystem(Generic[IdT]):
    """An in-memory system with its own tables, ids, clock and, optionally, file.

    Tests act as its users with :meth:`create`, :meth:`edit`, :meth:`delete`,
    :meth:`read` and :meth:`find`; these go through the server's checks like any
    front-end would. :meth:`store_raw` puts values in unchecked, as an import
    behind the system's back would, to make bad data on purpose.
    """

    name: ClassVar[str] = ""
    TABLES: ClassVar[Mapping[str, str]] = {}
    """Canonical entity name -> native table."""
    SCHEMAS: ClassVar[Mapping[str, TableSchema]] = {}
    REFERENCE_FIELD: ClassVar[str] = ""
    """The native field that holds the reference the engine stamps on creates."""
    STAMP_FIELD: ClassVar[str] = ""
    """The native field that shows the modification stamp."""
    SYSTEM_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: FakeClock | None = None,
        instance: str | None = None,
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.instance = instance or uuid.uuid4().hex
        """Which instance this is: the name given, or a random id kept in the file, so
        two fakes are never the same instance by accident and a reopened file is."""
        self.clock = clock or FakeClock()
        self.keeps_tombstones = True
        self._sequence = 0
        self._tables = {table: _Table() for table in self.SCHEMAS}
        if self.path is not None and os.path.exists(self.path):
            self._load(self.path, restore_clock=clock is None, keep_instance=instance is not None)

    # --- what a system spells its own way ----------------------------------------

    def _new_key(self, table: str, number: int) -> str:
        return str(number)

    def _native_id(self, key: str) -> IdT:
        raise NotImplementedError

    def _present(self, table: str, row: _Row) -> dict[str, Any]:
        raise NotImplementedError

    def _decimal(self, value: Decimal) -> Any:
        return value

    def _server_rules(self, table: str, values: dict[str, Any]) -> None:
        """Server-side logic run after the checks (computed fields)."""

    # --- acting as a user -----------------------------------------------------------

    def create(self, table: str, values: Mapping[str, Any] | None = None, /, **fields: Any) -> IdT:
        """Create a record as a user would; returns its id."""
        data = {**self._schema(table).defaults, **self._user_values(values, fields)}
        return self._native_id(self.apply_create(table, data))

    def edit(
        self, table: str, id: IdT | str, values: Mapping[str, Any] | None = None, /, **fields: Any
    ) -> None:
        """Change fields of a live record as a user would."""
        self.apply_update(table, str(id), self._user_values(values, fields))

    def delete(self, table: str, id: IdT | str) -> bool:
        """Delete a record; ``False`` when it was not there (already deleted)."""
        return self.apply_delete(table, str(id))

    def read(self, table: str, id: IdT | str) -> dict[str, Any] | None:
        """The record as the system shows it, or ``None`` when it is not there."""
        row = self._table(table).rows.get(str(id))
        return None if row is None or row.deleted else self._present(table, row)

    def find(self, table: str, **where: Any) -> list[dict[str, Any]]:
        """Live records whose fields equal ``where``, oldest first."""
        return [
            self._present(table, row)
            for row in self._table(table).rows.values()
            if not row.deleted and all(row.values.get(k) == v for k, v in where.items())
        ]

    def store_raw(
        self, table: str, values: Mapping[str, Any], *, id: IdT | str | None = None
    ) -> IdT:
        """Put ``values`` in as given, without any check: for making bad data on purpose."""
        data = copy_value(dict(values))
        if id is None:
            key = self._issue_key(table)
        else:
            key = str(id)
            table_state = self._table(table)
            if key.isdigit():
                table_state.counter = max(table_state.counter, int(key))
        self._put(table, key, data, deleted=False)
        return self._native_id(key)

    def save(self) -> None:
        """Write the store to its file, atomically."""
        if self.path is None:
            raise UsageError(f"{self.name} is not backed by a file", code="fake-no-path")
        dump_json(self.path, self._dump())

    # --- the server's side, used by adapters -----------------------------------------

    def sequence(self) -> int:
        """The newest change number so far."""
        return self._sequence

    def changes(
        self, table: str, *, after: int, limit: int, until: int | None = None
    ) -> tuple[list[Snapshot], bool]:
        """Rows changed after sequence ``after`` (and not after ``until``), oldest first.

        The second value says whether more such rows exist beyond the page.
        """
        state = self._table(table)
        page: list[Snapshot] = []
        more = False
        start = bisect_right(state.log, (after, "\U0010ffff"))
        for seq, key in state.log[start:]:
            if until is not None and seq > until:
                break
            row = state.rows.get(key)
            if row is None or row.seq != seq:
                continue
            if len(page) == limit:
                more = True
                break
            page.append(self._snapshot(table, row))
        self._compact(state)
        return page, more

    def lookup(self, table: str, ids: Iterable[str]) -> list[Snapshot]:
        """The live rows with these ids, in the order asked; unknown ids are left out."""
        rows = self._table(table).rows
        found = (rows.get(key) for key in ids)
        return [self._snapshot(table, row) for row in found if row is not None and not row.deleted]

    def by_reference(self, table: str, references: Iterable[str]) -> dict[str, Snapshot]:
        """The live row carrying each reference (the oldest, should there be several)."""
        state = self._table(table)
        found: dict[str, Snapshot] = {}
        for reference in references:
            keys = state.refs.get(reference, ())
            rows = sorted((state.rows[k] for k in keys), key=lambda r: r.created)
            if rows:
                found[reference] = self._snapshot(table, rows[0])
        return found

    def existed(self, table: str, key: str) -> bool:
        """True when ``key`` was ever given out in ``table`` (live, deleted or vanished)."""
        state = self._table(table)
        return key in state.rows or (
            key.isdigit()
            and 0 < int(key) <= state.counter
            and self._new_key(table, int(key)) == key
        )

    def is_live(self, table: str, key: str) -> bool:
        """True when ``key`` is a live row of ``table``."""
        row = self._table(table).rows.get(key)
        return row is not None and not row.deleted

    def apply_create(self, table: str, values: Mapping[str, Any]) -> str:
        """Checked create; returns the new row's key or raises :class:`WriteRefused`."""
        data = self._checked(table, copy_value(dict(values)), key=None)
        key = self._issue_key(table)
        self._put(table, key, data, deleted=False)
        return key

    def apply_update(self, table: str, key: str, values: Mapping[str, Any]) -> None:
        """Checked update of a live row's fields; :class:`WriteRefused` if it is not there."""
        if not self.is_live(table, key):
            raise WriteRefused(f"record {key!r} not found", table=table, system=self.name)
        merged = {**self._table(table).rows[key].values, **copy_value(dict(values))}
        self._put(table, key, self._checked(table, merged, key=key), deleted=False)

    def apply_delete(self, table: str, key: str) -> bool:
        """Delete a live row; ``False`` if it was not live. Tombstones stay if kept."""
        state = self._table(table)
        if not self.is_live(table, key):
            return False
        if self.keeps_tombstones:
            self._put(table, key, state.rows[key].values, deleted=True)
        else:
            self._drop_reference(state, state.rows.pop(key))
            self._sequence += 1
        return True

    # --- internals -----------------------------------------------------------------

    def _schema(self, table: str) -> TableSchema:
        try:
            return self.SCHEMAS[table]
        except KeyError:
            raise UsageError(
                f"{self.name} has no table {table!r}; tables: {sorted(self.SCHEMAS)}",
                code="fake-table",
            ) from None

    def _table(self, table: str) -> _Table:
        self._schema(table)
        return self._tables[table]

    def _user_values(
        self, values: Mapping[str, Any] | None, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        data = {**(values or {}), **fields}
        return {k: v for k, v in data.items() if k not in self.SYSTEM_FIELDS}

    def _checked(self, table: str, values: dict[str, Any], *, key: str | None) -> dict[str, Any]:
        try:
            self._schema(table).check(table, values, decimal=self._decimal, exists=self._exists)
            self._server_rules(table, values)
        except WriteRefused as exc:
            exc.system = self.name
            exc.args = (exc._render(exc.reason),)
            raise
        reference = values.get(self.REFERENCE_FIELD)
        if reference is not None:
            if not isinstance(reference, str):
                raise WriteRefused(
                    f"{self.REFERENCE_FIELD} must be text",
                    table=table,
                    field=self.REFERENCE_FIELD,
                    value=reference,
                    system=self.name,
                )
            others = set(self._table(table).refs.get(reference, ())) - {key}
            if others:
                raise WriteRefused(
                    f"duplicate value {reference!r} for {self.REFERENCE_FIELD}",
                    table=table,
                    field=self.REFERENCE_FIELD,
                    value=reference,
                    system=self.name,
                )
        return values

    def _exists(self, table: str, value: Any) -> bool:
        return (
            isinstance(value, str | int)
            and not isinstance(value, bool)
            and self.is_live(table, str(value))
        )

    def _issue_key(self, table: str) -> str:
        state = self._table(table)
        state.counter += 1
        return self._new_key(table, state.counter)

    def _put(self, table: str, key: str, values: dict[str, Any], *, deleted: bool) -> None:
        state = self._table(table)
        self._sequence += 1
        stamp = self.clock.now()
        old = state.rows.get(key)
        if old is not None:
            self._drop_reference(state, old)
        created = old.created if old else stamp
        row = _row(key, values, self._sequence, stamp, created, deleted, self.REFERENCE_FIELD)
        state.rows[key] = row
        state.log.append((row.seq, key))
        if not deleted:
            self._add_reference(state, row)

    def _add_reference(self, state: _Table, row: _Row) -> None:
        if row.reference is not None:
            keys: tuple[str, ...] = state.refs.get(row.reference, ())
            if row.key not in keys:
                state.refs[row.reference] = (*keys, row.key)

    def _drop_reference(self, state: _Table, row: _Row) -> None:
        reference = row.reference
        if reference is not None and reference in state.refs:
            kept = tuple(k for k in state.refs[reference] if k != row.key)
            if kept:
                state.refs[reference] = kept
            else:
                del state.refs[reference]

    def _compact(self, state: _Table) -> None:
        if len(state.log) > 64 and len(state.log) > 2 * len(state.rows):
            state.log = sorted((row.seq, row.key) for row in state.rows.values())

    def _snapshot(self, table: str, row: _Row) -> Snapshot:
        return Snapshot(row.key, self._present(table, row), row.seq, row.deleted)

    def _dump(self) -> dict[str, Any]:
        return {
            "format": self.name,
            "version": _VERSION,
            "instance": self.instance,
            "clock": self.clock.peek() - self.clock.skew,
            "sequence": self._sequence,
            "tables": {
                name: {
                    "counter": state.counter,
                    "rows": [
                        {
                            "key": row.key,
                            "values": row.values,
                            "seq": row.seq,
                            "stamp": row.stamp,
                            "created": row.created,
                            "deleted": row.deleted,
                        }
                        for row in state.rows.values()
                    ],
                }
                for name, state in self._tables.items()
            },
        }

    def _load(self, path: str, *, restore_clock: bool, keep_instance: bool) -> None:
        data = load_json(path)
        if not isinstance(data, dict) or data.get("format") != self.name:
            raise StateCorrupt(f"{path!r} is not a {self.name} file")
        if data.get("version") != _VERSION:
            raise StateCorrupt(f"{path!r} has unknown {self.name} version {data.get('version')!r}")
        try:
            if restore_clock:
                self.clock.set(data["clock"])
            # A file saved before instances were kept has none: it gets the new
            # random one, kept from its next save on.
            if not keep_instance and isinstance(data.get("instance"), str):
                self.instance = data["instance"]
            self._sequence = int(data["sequence"])
            for name, saved in data["tables"].items():
                state = self._table(name)
                state.counter = int(saved["counter"])
                for fields in sorted(saved["rows"], key=lambda r: r["seq"]):
                    row = _row(**fields, reference_field=self.REFERENCE_FIELD)
                    state.rows[row.key] = row
                    state.log.append((row.seq, row.key))
                    if not row.deleted:
                        self._add_reference(state, row)
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            raise StateCorrupt(f"{path!r} is damaged: {exc}") from None
