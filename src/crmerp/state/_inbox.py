"""The inbox: pulled changes staged durably until they are merged and written.

Each row has a status (:class:`~crmerp.state.InboxStatus`): ``pending`` rows are
merged at every pass (``note`` says why a row waited last time), ``review`` rows
wait for a person to settle a match review, ``failed`` rows wait until the record
they depend on is retried from quarantine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, select, tuple_, update

from crmerp.state._dialect import Session, aware, chunks
from crmerp.state._rows import InboxRow, InboxStatus
from crmerp.state._schema import inbox

__all__ = ["Inbox"]

_PENDING = InboxStatus.PENDING.value
_REVIEW = InboxStatus.REVIEW.value


class Inbox:
    """The staged changes of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def stage(self, rows: Sequence[InboxRow], *, keep_reviews: bool = False) -> None:
        """Stage pulled changes; a newer change of the same record replaces the older.

        A *new* row (no link yet) that replaces a staged row keeps that row's global
        id, so a pairing the matcher made survives an edit before the first write;
        with ``keep_reviews`` it also stays held for a review it was held for.
        """
        if not rows:
            return
        self._s.bumps_generation = True
        payload = [
            {
                "scope": self._scope,
                "entity": r.entity,
                "system": r.system,
                "native_id": r.native_id,
                "global_id": r.global_id,
                "data": r.data,
                "stamp": r.stamp.astimezone(UTC) if r.stamp is not None else None,
                "deleted": r.deleted,
                "new": r.new,
                "attempts": 0,
                "status": r.status.value,
                "note": r.note,
                "version": r.version,
                "raw_hash": r.raw_hash,
            }
            for r in rows
        ]
        self._s.many(_stage_statement(self._s.dialect, keep_reviews), payload)

    def groups(self, entity: str, after: str | None, limit: int) -> list[InboxRow]:
        """Pending rows of the next ``limit`` global ids after ``after``, grouped in order."""
        if not self._s.postgres:
            # One statement through the driver; stamps parsed by the standard
            # library: a third of the cost of two statements through SQLAlchemy.
            row = {"g_scope": self._scope, "g_entity": entity, "g_after": after, "g_limit": limit}
            found = self._s.driver_rows(_groups_statement(after is not None), row)
            return [_inbox_row(r) for r in found]
        c = inbox.c
        ids = select(c.global_id).where(
            c.scope == self._scope,
            c.entity == entity,
            c.global_id.is_not(None),
            c.status == _PENDING,
        )
        if after is not None:
            ids = ids.where(c.global_id > after)
        chosen = [
            r[0]
            for r in self._s.execute(ids.group_by(c.global_id).order_by(c.global_id).limit(limit))
        ]
        if not chosen:
            return []
        rows = self._s.execute(
            select(*_COLUMNS)
            .where(
                c.scope == self._scope,
                c.entity == entity,
                c.status == _PENDING,
                self._s.among(c.global_id, chosen),
            )
            .order_by(c.global_id, c.system)
        )
        return [_inbox_row(r) for r in rows]

    def new_counts(self, entity: str) -> dict[str, int]:
        """Number of new (unlinked) staged records per system, held for review or not."""
        c = inbox.c
        rows = self._s.execute(
            select(c.system, func.count())
            .where(
                c.scope == self._scope,
                c.entity == entity,
                c.new.is_(True),
                c.deleted.is_(False),
            )
            .group_by(c.system)
        )
        return {r[0]: int(r[1]) for r in rows}

    def staged_under(self, entity: str, system: str, global_ids: Sequence[str]) -> dict[str, str]:
        """global id -> native id of the rows of ``system`` staged under these ids."""
        c = inbox.c
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(global_ids))):
            rows = self._s.execute(
                select(c.global_id, c.native_id).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    self._s.among(c.global_id, chunk),
                    c.system == system,
                )
            )
            found.update({r.global_id: r.native_id for r in rows})
        return found

    def new_rows(self, entity: str, system: str) -> Iterator[InboxRow]:
        """Staged records of ``system`` that no link ties to the other system yet and
        that are not held for a review."""
        c = inbox.c
        result = self._s.execute(
            select(*_COLUMNS)
            .where(
                c.scope == self._scope,
                c.entity == entity,
                c.system == system,
                c.new.is_(True),
                c.deleted.is_(False),
                c.status != _REVIEW,
            )
            .order_by(c.native_id)
            .execution_options(yield_per=2000)
        )
        for row in result:
            yield _inbox_row(row)

    def assign(
        self, entity: str, rows: Sequence[tuple[str, str, str]], *, review: int | None = None
    ) -> None:
        """Give staged rows their global id, ``(system, native_id, global_id)``; they
        are no longer new. With ``review`` they are held for that match review,
        otherwise any hold is cleared."""
        status = InboxStatus.REVIEW if review is not None else InboxStatus.PENDING
        note = f"match review {review}" if review is not None else None
        stmt = self._by_key(entity).values(
            global_id=bindparam("b_global"), note=note, status=status.value, new=False
        )
        for chunk in chunks(list(rows), 2000):
            self._s.execute(
                stmt, [{"b_system": s, "b_native": n, "b_global": g} for s, n, g in chunk]
            )

    def unstage(self, entity: str, keys: Sequence[tuple[str, str]]) -> None:
        """Remove applied changes from the inbox, by (system, native id)."""
        if not keys:
            return
        if not self._s.postgres:
            # A delete per key through executemany: SQLite runs each in microseconds.
            self._s.many_tuples(
                _unstage_statement(),
                {"u_scope": self._scope, "u_entity": entity},
                ("u_system", "u_native"),
                [tuple(k) for k in keys],
            )
            return
        # PostgreSQL: one set-based delete per chunk, the keys as two arrays, so the
        # server plans one statement of four parameters rather than a row-value list
        # of a thousand (planning that list cost 110 ms a batch at 20,000 customers).
        c = inbox.c
        for chunk in chunks(list(keys)):
            systems, natives = zip(*chunk, strict=True)
            pairs = (
                func.unnest(self._s.array(c.system, systems), self._s.array(c.native_id, natives))
                .table_valued("system", "native_id")
                .render_derived()
            )
            self._s.execute(
                delete(inbox).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    tuple_(c.system, c.native_id).in_(select(pairs.c.system, pairs.c.native_id)),
                )
            )

    def defer(
        self,
        entity: str,
        keys: Sequence[tuple[str, str]],
        note: str,
        status: InboxStatus = InboxStatus.PENDING,
    ) -> None:
        """Keep staged changes for a later pass, counting the attempt and why;
        ``failed`` keeps them out of later passes until they are retried."""
        if not keys:
            return
        stmt = self._by_key(entity).values(
            attempts=inbox.c.attempts + 1, note=note, status=status.value
        )
        self._s.execute(stmt, [{"b_system": s, "b_native": n} for s, n in keys])

    def _by_key(self, entity: str) -> Any:
        """An UPDATE of the row of ``entity`` keyed by ``b_system`` and ``b_native``."""
        c = inbox.c
        return update(inbox).where(
            c.scope == self._scope,
            c.entity == entity,
            c.system == bindparam("b_system"),
            c.native_id == bindparam("b_native"),
        )

    def retry_failed(self, entity: str, note: str | None = None) -> None:
        """Put ``failed`` rows of ``entity`` back in line (only those whose note is
        ``note``, when given)."""
        c = inbox.c
        where = [
            c.scope == self._scope,
            c.entity == entity,
            c.status == InboxStatus.FAILED.value,
        ]
        if note is not None:
            where.append(c.note == note)
        self._s.execute(update(inbox).where(*where).values(status=_PENDING, note=None))

    def counts(self) -> dict[str, int]:
        """Number of staged changes per entity."""
        c = inbox.c
        rows = self._s.execute(
            select(c.entity, func.count()).where(c.scope == self._scope).group_by(c.entity)
        )
        return {r[0]: int(r[1]) for r in rows}

    def waiting(self, entity: str | None = None) -> list[InboxRow]:
        """Every staged row (of ``entity``), in key order: what is still to do."""
        c = inbox.c
        query = select(*_COLUMNS).where(c.scope == self._scope)
        if entity is not None:
            query = query.where(c.entity == entity)
        query = query.order_by(c.entity, c.system, c.native_id)
        return [_inbox_row(r) for r in self._s.execute(query)]


@lru_cache(maxsize=1)
def _unstage_statement() -> Any:
    c = inbox.c
    return delete(inbox).where(
        c.scope == bindparam("u_scope"),
        c.entity == bindparam("u_entity"),
        c.system == bindparam("u_system"),
        c.native_id == bindparam("u_native"),
    )


@lru_cache(maxsize=8)
def _stage_statement(dialect_name: str, keep_reviews: bool) -> Any:
    """Upsert of staged rows that keeps a pending pairing.

    A record staged again before its first write went through (an edit after a
    write answered 'retry', say) arrives as *new* with its own deterministic id;
    if the staged row it replaces was already paired by the matcher or held for
    review, the pairing and the hold stay, so the record is not created twice.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(inbox)
    ex = stmt.excluded
    keep = and_(ex.new, inbox.c.deleted.is_(False))
    held = and_(keep, inbox.c.status == _REVIEW)
    return stmt.on_conflict_do_update(
        index_elements=["scope", "entity", "system", "native_id"],
        set_={
            "global_id": case((keep, inbox.c.global_id), else_=ex.global_id),
            "new": case((keep, inbox.c.new), else_=ex.new),
            "note": case((held, inbox.c.note), else_=ex.note) if keep_reviews else ex.note,
            "status": case((held, inbox.c.status), else_=ex.status) if keep_reviews else ex.status,
            "data": ex.data,
            "stamp": ex.stamp,
            "deleted": ex.deleted,
            "version": ex.version,
            "raw_hash": ex.raw_hash,
            "attempts": ex.attempts,
        },
    )


@lru_cache(maxsize=2)
def _groups_statement(after: bool) -> Any:
    """The pending rows of the next ``g_limit`` global ids (after ``g_after``)."""
    c = inbox.c
    ids = select(c.global_id).where(
        c.scope == bindparam("g_scope"),
        c.entity == bindparam("g_entity"),
        c.global_id.is_not(None),
        c.status == _PENDING,
    )
    if after:
        ids = ids.where(c.global_id > bindparam("g_after"))
    chosen = ids.group_by(c.global_id).order_by(c.global_id)
    return (
        select(*_COLUMNS)
        .where(
            c.scope == bindparam("g_scope"),
            c.entity == bindparam("g_entity"),
            c.status == _PENDING,
            c.global_id.in_(chosen.limit(bindparam("g_limit")).scalar_subquery()),
        )
        .order_by(c.global_id, c.system)
    )


_COLUMNS = tuple(
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
        "status",
        "version",
        "raw_hash",
    )
)


def _inbox_row(r: Any) -> InboxRow:
    """An inbox row of :data:`_COLUMNS`, from SQLAlchemy or from the driver
    (which gives stamps as text and booleans as 0/1)."""
    stamp = r[5]
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    return InboxRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        aware(stamp),
        bool(r[6]),
        bool(r[7]),
        r[8],
        r[9],
        InboxStatus(r[10]),
        version=r[11],
        raw_hash=r[12],
    )
