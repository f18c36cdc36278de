"""The state store: links, bases, cursors, inbox, intents, conflicts, audit, leases."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DatabaseError, OperationalError

from crmerp._errors import LeaseHeld, StateCorrupt
from crmerp.state._driver import driver_form, driver_params, driver_tuples
from crmerp.state._open import connect, sidecar_path
from crmerp.state._rows import ConflictRecord, InboxRow, IntentRow, QuarantineRecord
from crmerp.state._schema import (
    audit,
    bases,
    conflicts,
    cursors,
    inbox,
    intents,
    leases,
    links,
    match_decisions,
    meta,
    quarantine,
    runs,
)
from crmerp.state._statistics import GrowthTracker

__all__ = ["StateStore", "Tx", "open_state"]

_CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_state(url: str, *, create: bool = False, rebaseline: bool = False) -> StateStore:
    """Open the durable sync state at ``url``.

    ``sqlite:///path`` (the embedded default) or ``postgresql://user@host/db``.
    A state that is not there raises :class:`~crmerp.StateMissing` unless
    ``create`` is true; a damaged one :class:`~crmerp.StateCorrupt`; one written by a
    newer crmerp :class:`~crmerp.StateVersionError`. It is never taken for a first run.

    A SQLite state restored from an older backup is refused unless ``rebaseline``
    is true, which accepts it and forgets its cursors so the next run re-reads
    everything and repairs links by the references stamped on records.
    """
    engine = connect(url, create=create)
    store = StateStore(engine, url)
    try:
        store._check_generation(rebaseline=rebaseline)
    except BaseException:
        engine.dispose()
        raise
    return store


class StateStore:
    """Durable sync state behind one SQLAlchemy engine. Use :func:`open_state`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name
        self._sidecar = sidecar_path(url)
        self.growth = GrowthTracker(engine) if self.dialect == "postgresql" else None

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[Tx]:
        """One transaction: everything done through the ``Tx`` commits or none does."""
        try:
            with self.engine.begin() as conn:
                tx = Tx(self, conn)
                yield tx
                if tx.bumps_generation:
                    tx._bump_generation()
        except (DatabaseError, OperationalError) as exc:
            if "locked" in str(exc.orig).lower():
                raise
            raise StateCorrupt(f"state became unreadable: {exc.orig}") from exc
        if self._sidecar is not None and getattr(tx, "new_generation", None) is not None:
            _write_atomic(self._sidecar, str(tx.new_generation))
        if self.growth is not None:
            self.growth.after_commit()

    def _check_generation(self, *, rebaseline: bool) -> None:
        if self._sidecar is None or not self._sidecar.exists():
            return
        with self.begin() as tx:
            stored = int(tx.meta("generation") or 0)
            marker = int(self._sidecar.read_text().strip() or 0)
            if stored >= marker:
                return
            if not rebaseline:
                raise StateCorrupt(
                    f"state generation {stored} is older than its last commit ({marker}): "
                    "it was restored from a backup. Open with rebaseline=True to accept it; "
                    "the next run re-reads both systems and repairs links by reference"
                )
            tx.conn.execute(delete(cursors))
            tx.set_meta("generation", str(marker))
            tx.set_meta("rebaselined_at", _now().isoformat())


def _write_atomic(path: os.PathLike[str], content: str) -> None:
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Tx:
    """Operations inside one state transaction (see :meth:`StateStore.begin`)."""

    def __init__(self, store: StateStore, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.bumps_generation = False
        self.new_generation: int | None = None

    # --- meta and generation ------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        return self.conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the meta table."""
        self._upsert(meta, [{"key": key, "value": value}], ["key"], ["value"])

    def _bump_generation(self) -> None:
        current = int(self.meta("generation") or 0) + 1
        self.set_meta("generation", str(current))
        self.new_generation = current

    # --- query helpers -------------------------------------------------------------

    def _among(self, column: Any, values: Sequence[Any]) -> Any:
        """``column IN values``. On PostgreSQL as ``column = ANY(array)``: one
        parameter, so the server plans it once instead of parsing hundreds of
        placeholders (about fifteen times faster for a page of ids)."""
        if self.store.dialect == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        # SQLite: the list as one JSON parameter, so the statement is compiled once
        # instead of a placeholder rendered per value on every execution.
        listed = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
        return column.in_(select(listed.c.value))

    # --- upsert helper -------------------------------------------------------------

    def _upsert(
        self,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: Sequence[str],
        columns: Sequence[str],
    ) -> None:
        if not rows:
            return
        stmt = _upsert_statement(self.store.dialect, table, tuple(keys), tuple(columns))
        self._many(stmt, rows)

    def _many(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Execute ``stmt`` for every row of ``rows``.

        On SQLite straight through the driver's executemany: the statement is
        compiled once, each row only has its values put in order and converted by
        the column types' bind processors, several times cheaper than SQLAlchemy's
        per-row parameter handling. On PostgreSQL through SQLAlchemy, whose
        multi-row inserts save the round trips that matter there.
        """
        if not rows:
            return
        if self.store.dialect != "sqlite":
            # PostgreSQL: SQLAlchemy sends inserts as multi-row VALUES, one statement
            # per thousand rows, which beats any per-row statement, pipelined or not.
            for chunk in _chunks(rows, 2000):
                self.conn.execute(stmt, list(chunk))
            if self.store.growth is not None:
                self.store.growth.wrote(stmt.table.name, len(rows))
            return
        form = driver_form(self.conn.dialect, stmt)
        params = driver_params(form, rows)
        for chunk in _chunks(params, 2000):
            self.conn.exec_driver_sql(form.sql, list(chunk))

    def _many_tuples(
        self,
        stmt: Any,
        fixed: dict[str, Any],
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Execute ``stmt`` for ``rows``, tuples of ``columns``, each with ``fixed``.

        On SQLite the shared values are converted once and each row becomes the
        driver's parameters by one tuple concatenation; elsewhere (or for a
        statement whose parameters are not in that order) as :meth:`_many`.
        """
        if not rows:
            return
        if self.store.dialect == "sqlite":
            form = driver_form(self.conn.dialect, stmt)
            params = driver_tuples(form, fixed, columns, rows)
            if params is not None:
                for chunk in _chunks(params, 2000):
                    self.conn.exec_driver_sql(form.sql, list(chunk))
                return
        self._many(stmt, [{**fixed, **dict(zip(columns, row, strict=True))} for row in rows])

    # --- cursors -------------------------------------------------------------------

    def cursor(self, scope: str, system: str, entity: str) -> str | None:
        """The committed cursor of one system's entity feed."""
        return self.conn.execute(
            select(cursors.c.cursor).where(
                cursors.c.scope == scope, cursors.c.system == system, cursors.c.entity == entity
            )
        ).scalar()

    def set_cursor(self, scope: str, system: str, entity: str, cursor: str | None) -> None:
        """Move a cursor; only ever after the changes before it are durable."""
        self.bumps_generation = True
        self._upsert(
            cursors,
            [
                {
                    "scope": scope,
                    "system": system,
                    "entity": entity,
                    "cursor": cursor,
                    "updated_at": _now(),
                }
            ],
            ["scope", "system", "entity"],
            ["cursor", "updated_at"],
        )

    def all_cursors(self, scope: str) -> dict[tuple[str, str], str | None]:
        """Every cursor of ``scope`` keyed by (system, entity)."""
        rows = self.conn.execute(
            select(cursors.c.system, cursors.c.entity, cursors.c.cursor).where(
                cursors.c.scope == scope
            )
        )
        return {(r.system, r.entity): r.cursor for r in rows}

    def reset_cursors(self, scope: str) -> None:
        """Forget every cursor of ``scope`` (the next run reads everything)."""
        self.bumps_generation = True
        self.conn.execute(delete(cursors).where(cursors.c.scope == scope))

    # --- links ---------------------------------------------------------------------

    def links_by_native(
        self, scope: str, entity: str, system: str, native_ids: Sequence[str]
    ) -> dict[str, tuple[str, str | None]]:
        """native id -> (global id, seen hash) for the linked ones."""
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in _chunks(list(dict.fromkeys(native_ids))):
            rows = self.conn.execute(
                select(links.c.native_id, links.c.global_id, links.c.seen_hash).where(
                    links.c.scope == scope,
                    links.c.entity == entity,
                    links.c.system == system,
                    self._among(links.c.native_id, chunk),
                )
            )
            found.update({r.native_id: (r.global_id, r.seen_hash) for r in rows})
        return found

    def links_by_global(
        self, scope: str, entity: str, global_ids: Sequence[str]
    ) -> dict[str, dict[str, tuple[str, str | None]]]:
        """global id -> {system: (native id, seen hash)}."""
        found: dict[str, dict[str, tuple[str, str | None]]] = {}
        for chunk in _chunks(list(dict.fromkeys(global_ids))):
            rows = self.conn.execute(
                select(
                    links.c.global_id, links.c.system, links.c.native_id, links.c.seen_hash
                ).where(
                    links.c.scope == scope,
                    links.c.entity == entity,
                    self._among(links.c.global_id, chunk),
                )
            )
            for r in rows:
                found.setdefault(r.global_id, {})[r.system] = (r.native_id, r.seen_hash)
        return found

    def links_read(
        self, scope: str, entity: str, system: str, native_ids: Sequence[str]
    ) -> dict[str, tuple[str, str | None, str | None]]:
        """native id -> (global id, seen hash, raw hash) for the linked ones."""
        found: dict[str, tuple[str, str | None, str | None]] = {}
        for chunk in _chunks(list(dict.fromkeys(native_ids))):
            rows = self.conn.execute(
                select(
                    links.c.native_id, links.c.global_id, links.c.seen_hash, links.c.raw_hash
                ).where(
                    links.c.scope == scope,
                    links.c.entity == entity,
                    links.c.system == system,
                    self._among(links.c.native_id, chunk),
                )
            )
            # Fetched at once and read by position: a row at a time through the
            # result costs more than the query.
            found.update({nid: (gid, seen, raw) for nid, gid, seen, raw in rows.all()})
        return found

    def put_links(
        self,
        scope: str,
        rows: Iterable[
            tuple[str, str, str, str, str | None]
            | tuple[str, str, str, str, str | None, str | None]
        ],
    ) -> None:
        """Upsert links as ``(entity, system, native_id, global_id, seen_hash[,
        raw_hash])``; without a raw hash it is cleared (it belonged to the old
        seen hash)."""
        stmt = _upsert_statement(
            self.store.dialect,
            links,
            ("scope", "entity", "system", "native_id"),
            ("global_id", "seen_hash", "raw_hash"),
        )
        full = [tuple(r) if len(r) == 6 else (*r, None) for r in rows]
        self._many_tuples(stmt, {"scope": scope}, _LINK_COLUMNS, full)

    def put_raw_hashes(
        self, scope: str, entity: str, system: str, rows: Sequence[tuple[str, str, str]]
    ) -> None:
        """Record raw hashes as ``(native_id, seen_hash, raw_hash)`` on links whose
        seen hash is still that one (records read again and found unchanged)."""
        if not rows:
            return
        stmt = (
            update(links)
            .where(
                links.c.scope == scope,
                links.c.entity == entity,
                links.c.system == system,
                links.c.native_id == bindparam("r_native"),
                links.c.seen_hash == bindparam("r_seen"),
            )
            .values(raw_hash=bindparam("r_raw"))
        )
        for chunk in _chunks(list(rows), 2000):
            self.conn.execute(stmt, [{"r_native": n, "r_seen": s, "r_raw": r} for n, s, r in chunk])

    def drop_links(self, scope: str, entity: str, system: str, native_ids: Sequence[str]) -> None:
        """Remove links of deleted records."""
        for chunk in _chunks(list(native_ids)):
            self.conn.execute(
                delete(links).where(
                    links.c.scope == scope,
                    links.c.entity == entity,
                    links.c.system == system,
                    self._among(links.c.native_id, chunk),
                )
            )

    def iter_native_ids(self, scope: str, entity: str, system: str) -> Iterator[str]:
        """Every linked native id of one system's entity, streamed."""
        result = self.conn.execute(
            (
                select(links.c.native_id).where(
                    links.c.scope == scope, links.c.entity == entity, links.c.system == system
                )
            ).execution_options(yield_per=5000)
        )
        for row in result:
            yield row.native_id

    def count_links(self, scope: str) -> dict[tuple[str, str], int]:
        """Number of links per (entity, system)."""
        rows = self.conn.execute(
            select(links.c.entity, links.c.system, func.count())
            .where(links.c.scope == scope)
            .group_by(links.c.entity, links.c.system)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    # --- bases ---------------------------------------------------------------------

    def bases(self, scope: str, entity: str, global_ids: Sequence[str]) -> dict[str, str]:
        """global id -> base JSON for those that have a base."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(global_ids))):
            rows = self.conn.execute(
                select(bases.c.global_id, bases.c.data).where(
                    bases.c.scope == scope,
                    bases.c.entity == entity,
                    self._among(bases.c.global_id, chunk),
                )
            )
            found.update({r.global_id: r.data for r in rows})
        return found

    def put_bases(self, scope: str, entity: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Upsert bases as ``(global_id, json, hash)``."""
        stmt = _upsert_statement(
            self.store.dialect, bases, ("scope", "entity", "global_id"), ("data", "hash")
        )
        fixed = {"scope": scope, "entity": entity}
        self._many_tuples(stmt, fixed, ("global_id", "data", "hash"), [tuple(r) for r in rows])

    def drop_bases(self, scope: str, entity: str, global_ids: Sequence[str]) -> None:
        """Forget the bases of deleted records."""
        for chunk in _chunks(list(global_ids)):
            self.conn.execute(
                delete(bases).where(
                    bases.c.scope == scope,
                    bases.c.entity == entity,
                    self._among(bases.c.global_id, chunk),
                )
            )

    def iter_bases(self, scope: str, entity: str) -> Iterator[tuple[str, str]]:
        """Every ``(global_id, json)`` base of an entity, streamed."""
        result = self.conn.execute(
            (
                select(bases.c.global_id, bases.c.data)
                .where(bases.c.scope == scope, bases.c.entity == entity)
                .order_by(bases.c.global_id)
            ).execution_options(yield_per=2000)
        )
        for row in result:
            yield row.global_id, row.data

    # --- inbox ---------------------------------------------------------------------

    def stage(
        self, scope: str, rows: Sequence[InboxRow], *, hold_prefix: str | None = None
    ) -> None:
        """Stage pulled changes; a newer change of the same record replaces the older.

        A *new* row (no link yet) that replaces a staged row keeps that row's global
        id, so a pairing the matcher made survives an edit before the first write;
        with ``hold_prefix`` it also keeps a note starting with it (a review hold).
        """
        self.bumps_generation = True
        payload = [
            {
                "scope": scope,
                "entity": r.entity,
                "system": r.system,
                "native_id": r.native_id,
                "global_id": r.global_id,
                "data": r.data,
                "stamp": r.stamp.astimezone(UTC) if r.stamp is not None else None,
                "deleted": r.deleted,
                "new": r.new,
                "attempts": 0,
                "note": r.note,
                "raw_hash": r.raw_hash,
            }
            for r in rows
        ]
        if not payload:
            return
        self._many(_stage_statement(self.store.dialect, hold_prefix), payload)

    def inbox_page(
        self, scope: str, entity: str, after: tuple[str, str] | None, limit: int
    ) -> list[InboxRow]:
        """Staged changes of ``entity`` ordered by (system, native id), after a key."""
        query = select(*_INBOX_COLUMNS).where(inbox.c.scope == scope, inbox.c.entity == entity)
        if after is not None:
            query = query.where(tuple_(inbox.c.system, inbox.c.native_id) > tuple_(*after))
        query = query.order_by(inbox.c.system, inbox.c.native_id).limit(limit)
        return [_inbox_tuple(r) for r in self.conn.execute(query)]

    def inbox_groups(
        self, scope: str, entity: str, after: str | None, limit: int
    ) -> list[InboxRow]:
        """Staged rows of the next ``limit`` global ids after ``after``, grouped in order."""
        if self.store.dialect == "sqlite":
            # One statement through the driver; stamps parsed by the standard
            # library: a third of the cost of two statements through SQLAlchemy.
            form = driver_form(self.conn.dialect, _groups_statement(after is not None))
            row = {"g_scope": scope, "g_entity": entity, "g_after": after, "g_limit": limit}
            (params,) = driver_params(form, [row])
            return [_inbox_tuple(r) for r in self.conn.exec_driver_sql(form.sql, params)]
        ids = select(inbox.c.global_id).where(
            inbox.c.scope == scope, inbox.c.entity == entity, inbox.c.global_id.is_not(None)
        )
        if after is not None:
            ids = ids.where(inbox.c.global_id > after)
        chosen = [
            r[0]
            for r in self.conn.execute(
                ids.group_by(inbox.c.global_id).order_by(inbox.c.global_id).limit(limit)
            )
        ]
        if not chosen:
            return []
        rows = self.conn.execute(
            select(*_INBOX_COLUMNS)
            .where(
                inbox.c.scope == scope,
                inbox.c.entity == entity,
                self._among(inbox.c.global_id, chosen),
            )
            .order_by(inbox.c.global_id, inbox.c.system)
        )
        return [_inbox_tuple(r) for r in rows]

    def new_counts(self, scope: str, entity: str) -> dict[str, int]:
        """Number of new (unlinked) staged records per system."""
        rows = self.conn.execute(
            select(inbox.c.system, func.count())
            .where(
                inbox.c.scope == scope,
                inbox.c.entity == entity,
                inbox.c.new.is_(True),
                inbox.c.deleted.is_(False),
            )
            .group_by(inbox.c.system)
        )
        return {r[0]: int(r[1]) for r in rows}

    def new_rows(self, scope: str, entity: str, system: str) -> Iterator[InboxRow]:
        """Staged records of ``system`` that no link ties to the other system yet."""
        result = self.conn.execute(
            select(*_INBOX_COLUMNS)
            .where(
                inbox.c.scope == scope,
                inbox.c.entity == entity,
                inbox.c.system == system,
                inbox.c.new.is_(True),
                inbox.c.deleted.is_(False),
            )
            .order_by(inbox.c.native_id)
            .execution_options(yield_per=2000)
        )
        for row in result:
            yield _inbox_tuple(row)

    def assign(
        self, scope: str, entity: str, rows: Sequence[tuple[str, str, str]], note: str | None = None
    ) -> None:
        """Give staged rows their global id, ``(system, native_id, global_id)``; they
        are no longer new. ``note`` (a review hold) is set on them, or cleared."""
        stmt = (
            update(inbox)
            .where(
                inbox.c.scope == scope,
                inbox.c.entity == entity,
                inbox.c.system == bindparam("b_system"),
                inbox.c.native_id == bindparam("b_native"),
            )
            .values(global_id=bindparam("b_global"), note=note, new=False)
        )
        for chunk in _chunks(list(rows), 2000):
            self.conn.execute(
                stmt, [{"b_system": s, "b_native": n, "b_global": g} for s, n, g in chunk]
            )

    def unstage(self, scope: str, entity: str, keys: Sequence[tuple[str, str]]) -> None:
        """Remove applied changes from the inbox, by (system, native id)."""
        if self.store.dialect == "sqlite":
            # A delete per key through executemany: SQLite runs each in microseconds.
            self._many_tuples(
                _unstage_statement(),
                {"u_scope": scope, "u_entity": entity},
                ("u_system", "u_native"),
                [tuple(k) for k in keys],
            )
            return
        # PostgreSQL: one set-based delete per chunk, the keys as two arrays, so the
        # server plans one statement of four parameters rather than a row-value list
        # of a thousand (planning that list cost 110 ms a batch at 20,000 customers).
        for chunk in _chunks(list(keys)):
            systems, natives = zip(*chunk, strict=True)
            pairs = (
                func.unnest(
                    bindparam(None, list(systems), type_=ARRAY(inbox.c.system.type)),
                    bindparam(None, list(natives), type_=ARRAY(inbox.c.native_id.type)),
                )
                .table_valued("system", "native_id")
                .render_derived()
            )
            self.conn.execute(
                delete(inbox).where(
                    inbox.c.scope == scope,
                    inbox.c.entity == entity,
                    tuple_(inbox.c.system, inbox.c.native_id).in_(
                        select(pairs.c.system, pairs.c.native_id)
                    ),
                )
            )

    def defer(self, scope: str, entity: str, keys: Sequence[tuple[str, str]], note: str) -> None:
        """Keep staged changes for a later pass, counting the attempt and why."""
        if not keys:
            return
        stmt = (
            update(inbox)
            .where(
                inbox.c.scope == scope,
                inbox.c.entity == entity,
                inbox.c.system == bindparam("b_system"),
                inbox.c.native_id == bindparam("b_native"),
            )
            .values(attempts=inbox.c.attempts + 1, note=note)
        )
        self.conn.execute(stmt, [{"b_system": s, "b_native": n} for s, n in keys])

    def inbox_counts(self, scope: str) -> dict[str, int]:
        """Number of staged changes per entity."""
        rows = self.conn.execute(
            select(inbox.c.entity, func.count())
            .where(inbox.c.scope == scope)
            .group_by(inbox.c.entity)
        )
        return {r[0]: int(r[1]) for r in rows}

    # --- intents -------------------------------------------------------------------

    def record_intents(self, scope: str, run_id: str, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Record writes about to be sent; returns their ids in order."""
        if not rows:
            return []
        self.bumps_generation = True
        now = _now()
        if self.store.dialect == "sqlite":
            # Through the driver, then the ids: the insert holds the write lock to
            # the commit, so the rows took the consecutive ids ending at the highest.
            fixed = {"scope": scope, "run_id": run_id, "status": "pending", "created_at": now}
            pick = itemgetter(*_INTENT_COLUMNS)
            self._many_tuples(_intent_statement(), fixed, _INTENT_COLUMNS, [pick(r) for r in rows])
            last = int(self.conn.execute(select(func.max(intents.c.id))).scalar_one())
            return list(range(last - len(rows) + 1, last + 1))
        payload = [
            {"scope": scope, "run_id": run_id, "status": "pending", "created_at": now, **row}
            for row in rows
        ]
        stmt = intents.insert().returning(intents.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        for chunk in _chunks(payload, 2000):
            ids.extend(int(r[0]) for r in self.conn.execute(stmt, list(chunk)))
        return ids

    def close_intents(self, ids: Sequence[int], status: str = "done") -> None:
        """Mark intents as settled once their outcome is committed."""
        for chunk in _chunks(list(ids)):
            among = self._among(intents.c.id, chunk)
            self.conn.execute(update(intents).where(among).values(status=status))

    def open_intents(self, scope: str) -> list[IntentRow]:
        """Writes that were recorded but whose outcome was never committed."""
        rows = self.conn.execute(
            select(intents)
            .where(intents.c.scope == scope, intents.c.status == "pending")
            .order_by(intents.c.id)
        )
        return [
            IntentRow(
                r.id,
                r.entity,
                r.system,
                r.global_id,
                r.kind,
                r.reference,
                r.native_id,
                r.payload_hash,
                r.run_id,
            )
            for r in rows
        ]

    def purge_intents(self, scope: str) -> None:
        """Drop settled intents (they are history once committed)."""
        self.conn.execute(
            delete(intents).where(intents.c.scope == scope, intents.c.status != "pending")
        )

    # --- conflicts -----------------------------------------------------------------

    def add_conflict(self, scope: str, **values: Any) -> int:
        """Park a conflict (or a match to review); returns its id.

        An open conflict on the same record and field is updated, not repeated.
        """
        encoded = {
            k: json.dumps(v, sort_keys=True, default=str)
            if k in {"base", "crm", "erp", "detail"}
            else v
            for k, v in values.items()
        }
        existing = self.conn.execute(
            select(conflicts.c.id).where(
                conflicts.c.scope == scope,
                conflicts.c.status == "open",
                conflicts.c.kind == encoded["kind"],
                conflicts.c.entity == encoded["entity"],
                conflicts.c.global_id == encoded["global_id"],
                conflicts.c.field == encoded["field"],
            )
        ).scalar()
        if existing is not None:
            self.conn.execute(update(conflicts).where(conflicts.c.id == existing).values(**encoded))
            return int(existing)
        result = self.conn.execute(
            conflicts.insert().values(scope=scope, status="open", created_at=_now(), **encoded)
        )
        return _inserted_id(result)

    def conflicts(self, scope: str, status: str | None = "open") -> list[ConflictRecord]:
        """Conflicts of ``scope``, open ones by default (``None`` for all)."""
        query = select(conflicts).where(conflicts.c.scope == scope)
        if status is not None:
            query = query.where(conflicts.c.status == status)
        return [_conflict(r) for r in self.conn.execute(query.order_by(conflicts.c.id))]

    def conflict(self, scope: str, conflict_id: int) -> ConflictRecord | None:
        """One conflict by id."""
        row = self.conn.execute(
            select(conflicts).where(conflicts.c.scope == scope, conflicts.c.id == conflict_id)
        ).first()
        return _conflict(row) if row is not None else None

    def set_conflict(self, conflict_id: int, status: str, resolution: Any = None) -> None:
        """Record a resolution (``resolved``) or close a conflict (``applied``)."""
        values: dict[str, Any] = {"status": status}
        if resolution is not None:
            values["resolution"] = json.dumps(resolution, sort_keys=True, default=str)
            values["resolved_at"] = _now()
        self.conn.execute(update(conflicts).where(conflicts.c.id == conflict_id).values(**values))

    def open_conflict_fields(
        self, scope: str, entity: str, global_ids: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """global id -> {field: conflict id} of open field conflicts."""
        found: dict[str, dict[str, int]] = {}
        for chunk in _chunks(list(dict.fromkeys(global_ids))):
            rows = self.conn.execute(
                select(conflicts.c.global_id, conflicts.c.field, conflicts.c.id).where(
                    conflicts.c.scope == scope,
                    conflicts.c.entity == entity,
                    conflicts.c.kind == "field",
                    conflicts.c.status == "open",
                    self._among(conflicts.c.global_id, chunk),
                )
            )
            for r in rows:
                found.setdefault(r.global_id, {})[r.field] = int(r.id)
        return found

    # --- quarantine ----------------------------------------------------------------

    def quarantine(self, scope: str, rows: Sequence[dict[str, Any]]) -> None:
        """Set records aside with their reason; one entry per record (latest wins).

        Their links forget the raw hash, so the next read validates them again
        even unchanged (a record set aside is never skipped as already read).
        """
        now = _now()
        for row in rows:
            self.conn.execute(
                delete(quarantine).where(
                    quarantine.c.scope == scope,
                    quarantine.c.entity == row["entity"],
                    quarantine.c.system == row["system"],
                    quarantine.c.native_id == row["native_id"],
                )
            )
            self.conn.execute(
                update(links)
                .where(
                    links.c.scope == scope,
                    links.c.entity == row["entity"],
                    links.c.system == row["system"],
                    links.c.native_id == row["native_id"],
                )
                .values(raw_hash=None)
            )
        if rows:
            self.conn.execute(
                quarantine.insert(), [{"scope": scope, "created_at": now, **r} for r in rows]
            )

    def release(self, scope: str, entity: str, system: str, native_ids: Sequence[str]) -> None:
        """Remove records from quarantine once they went through."""
        for chunk in _chunks(list(native_ids)):
            self.conn.execute(
                delete(quarantine).where(
                    quarantine.c.scope == scope,
                    quarantine.c.entity == entity,
                    quarantine.c.system == system,
                    self._among(quarantine.c.native_id, chunk),
                )
            )

    def quarantined(self, scope: str) -> list[QuarantineRecord]:
        """Everything in quarantine."""
        rows = self.conn.execute(
            select(quarantine).where(quarantine.c.scope == scope).order_by(quarantine.c.id)
        )
        return [
            QuarantineRecord(
                r.id,
                r.entity,
                r.system,
                r.native_id,
                r.field,
                r.reason,
                r.payload,
                _aware(r.created_at) or _now(),
            )
            for r in rows
        ]

    def drop_quarantine(self, scope: str, ids: Sequence[int] | None = None) -> None:
        """Forget quarantine entries (all of ``scope`` when ``ids`` is None)."""
        query = delete(quarantine).where(quarantine.c.scope == scope)
        if ids is not None:
            query = query.where(quarantine.c.id.in_(list(ids)))
        self.conn.execute(query)

    # --- audit ---------------------------------------------------------------------

    def audit(self, scope: str, run_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """Append field-level changes: entity, global_id, field, old, new, origin, rule."""
        if rows:
            fixed = {"scope": scope, "run_id": run_id, "at": _now()}
            pick = itemgetter(*_AUDIT_COLUMNS)
            self._many_tuples(_audit_statement(), fixed, _AUDIT_COLUMNS, [pick(r) for r in rows])

    def audit_trail(self, scope: str, global_id: str | None = None) -> list[dict[str, Any]]:
        """Audit rows, optionally for one record, oldest first."""
        query = select(audit).where(audit.c.scope == scope)
        if global_id is not None:
            query = query.where(audit.c.global_id == global_id)
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(audit.c.id))]

    # --- match decisions -----------------------------------------------------------

    def decide_match(
        self, scope: str, entity: str, crm_id: str, erp_id: str, decision: str
    ) -> None:
        """Remember that a person confirmed or rejected a candidate pair."""
        self._upsert(
            match_decisions,
            [
                {
                    "scope": scope,
                    "entity": entity,
                    "crm_id": crm_id,
                    "erp_id": erp_id,
                    "decision": decision,
                    "decided_at": _now(),
                }
            ],
            ["scope", "entity", "crm_id", "erp_id"],
            ["decision", "decided_at"],
        )

    def match_decisions(self, scope: str, entity: str, decision: str) -> set[tuple[str, str]]:
        """``(crm_id, erp_id)`` pairs with that decision."""
        rows = self.conn.execute(
            select(match_decisions.c.crm_id, match_decisions.c.erp_id).where(
                match_decisions.c.scope == scope,
                match_decisions.c.entity == entity,
                match_decisions.c.decision == decision,
            )
        )
        return {(r.crm_id, r.erp_id) for r in rows}

    # --- leases --------------------------------------------------------------------

    def acquire_lease(self, scope: str, holder: str, ttl: timedelta) -> None:
        """Take or renew the scope's lease, or raise :class:`~crmerp.LeaseHeld`.

        One conditional upsert: it takes the row only when it is free, expired or
        already ours, so two workers racing for it cannot both win.
        """
        now = _now()
        dialect = postgresql if self.store.dialect == "postgresql" else sqlite
        stmt = dialect.insert(leases).values(scope=scope, holder=holder, expires_at=now + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(leases.c.holder == holder) | (leases.c.expires_at < now),
        )
        self.conn.execute(stmt)
        row = self.conn.execute(select(leases).where(leases.c.scope == scope)).first()
        if row is not None and row.holder != holder:
            raise LeaseHeld(scope, row.holder, str(_aware(row.expires_at)))

    def release_lease(self, scope: str, holder: str) -> None:
        """Give the lease up (only if still ours)."""
        self.conn.execute(
            delete(leases).where(and_(leases.c.scope == scope, leases.c.holder == holder))
        )

    def lease_holder(self, scope: str) -> str | None:
        """Who holds the lease now, if anyone (expired leases count as free)."""
        row = self.conn.execute(select(leases).where(leases.c.scope == scope)).first()
        if row is None or (_aware(row.expires_at) or _now()) <= _now():
            return None
        return str(row.holder)

    # --- runs ----------------------------------------------------------------------

    def start_run(self, scope: str, run_id: str, mode: str) -> None:
        """Record that a run started."""
        self.conn.execute(
            runs.insert().values(run_id=run_id, scope=scope, mode=mode, started_at=_now())
        )

    def finish_run(self, run_id: str, report: str) -> None:
        """Record a run's report."""
        self.conn.execute(
            update(runs).where(runs.c.run_id == run_id).values(finished_at=_now(), report=report)
        )

    def last_runs(self, scope: str, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent runs, newest first."""
        rows = self.conn.execute(
            select(runs)
            .where(runs.c.scope == scope)
            .order_by(runs.c.started_at.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect_name: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE, built once per table and column set."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
    )


_LINK_COLUMNS = ("entity", "system", "native_id", "global_id", "seen_hash", "raw_hash")
_AUDIT_COLUMNS = ("entity", "global_id", "field", "old", "new", "origin", "rule")
_INTENT_COLUMNS = (
    "entity",
    "system",
    "global_id",
    "kind",
    "reference",
    "native_id",
    "payload_hash",
)


@lru_cache(maxsize=1)
def _audit_statement() -> Any:
    columns = ("scope", "run_id", "at", "entity", "global_id", "field", "old", "new", "origin")
    return audit.insert().values({c: bindparam(c) for c in (*columns, "rule")})


@lru_cache(maxsize=1)
def _unstage_statement() -> Any:
    return delete(inbox).where(
        inbox.c.scope == bindparam("u_scope"),
        inbox.c.entity == bindparam("u_entity"),
        inbox.c.system == bindparam("u_system"),
        inbox.c.native_id == bindparam("u_native"),
    )


@lru_cache(maxsize=8)
def _stage_statement(dialect_name: str, hold_prefix: str | None) -> Any:
    """Upsert of staged rows that keeps a pending pairing.

    A record staged again before its first write went through (an edit after a
    write answered 'retry', say) arrives as *new* with its own deterministic id;
    if the staged row it replaces was already paired by the matcher or held for
    review, the pairing and the hold stay, so the record is not created twice.
    """
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(inbox)
    ex = stmt.excluded
    keep = and_(ex.new, inbox.c.deleted.is_(False))
    return stmt.on_conflict_do_update(
        index_elements=["scope", "entity", "system", "native_id"],
        set_={
            "global_id": case((keep, inbox.c.global_id), else_=ex.global_id),
            "new": case((keep, inbox.c.new), else_=ex.new),
            "note": ex.note
            if not hold_prefix
            else case(
                (and_(keep, inbox.c.note.startswith(hold_prefix)), inbox.c.note), else_=ex.note
            ),
            "data": ex.data,
            "stamp": ex.stamp,
            "deleted": ex.deleted,
            "attempts": ex.attempts,
            "raw_hash": ex.raw_hash,
        },
    )


@lru_cache(maxsize=2)
def _groups_statement(after: bool) -> Any:
    """The staged rows of the next ``g_limit`` global ids (after ``g_after``)."""
    ids = select(inbox.c.global_id).where(
        inbox.c.scope == bindparam("g_scope"),
        inbox.c.entity == bindparam("g_entity"),
        inbox.c.global_id.is_not(None),
    )
    if after:
        ids = ids.where(inbox.c.global_id > bindparam("g_after"))
    chosen = ids.group_by(inbox.c.global_id).order_by(inbox.c.global_id)
    return (
        select(*_INBOX_COLUMNS)
        .where(
            inbox.c.scope == bindparam("g_scope"),
            inbox.c.entity == bindparam("g_entity"),
            inbox.c.global_id.in_(chosen.limit(bindparam("g_limit")).scalar_subquery()),
        )
        .order_by(inbox.c.global_id, inbox.c.system)
    )


_INBOX_COLUMNS = tuple(
    inbox.c[name]
    for name in (
        "entity",
        "system",
        "native_id",
        "global_id",
        "data",
        "stamp",
        "deleted",
        "new",
        "attempts",
        "note",
        "raw_hash",
    )
)


def _inbox_tuple(r: Any) -> InboxRow:
    """An inbox row of :data:`_INBOX_COLUMNS`, from SQLAlchemy or from the driver
    (which gives stamps as text and booleans as 0/1)."""
    stamp = r[5]
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    return InboxRow(
        r[0], r[1], r[2], r[3], r[4], _aware(stamp), bool(r[6]), bool(r[7]), r[8], r[9], r[10]
    )


@lru_cache(maxsize=1)
def _intent_statement() -> Any:
    return intents.insert().values(
        {c.name: bindparam(c.name) for c in intents.columns if c.name != "id"}
    )


def _conflict(row: Any) -> ConflictRecord:
    def load(value: str | None) -> Any:
        return json.loads(value) if value is not None else None

    return ConflictRecord(
        id=int(row.id),
        kind=row.kind,
        entity=row.entity,
        global_id=row.global_id,
        field=row.field,
        base=load(row.base),
        crm=load(row.crm),
        erp=load(row.erp),
        detail=load(row.detail),
        status=row.status,
        resolution=load(row.resolution),
        created_at=_aware(row.created_at) or _now(),
        resolved_at=_aware(row.resolved_at),
    )


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer key
        raise StateCorrupt("the state did not return the id of an inserted row")
    return int(key[0])
