"""Links: which native record of each system is which global record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import bindparam, delete, func, select, update

from crmerp.state._dialect import Session, chunks
from crmerp.state._schema import links

__all__ = ["LinkRow", "Links"]

LinkRow = tuple[str, str, str, str, str | None] | tuple[str, str, str, str, str | None, str | None]
"""``(entity, system, native_id, global_id, seen_hash[, raw_hash])``: ``seen_hash``
is the hash of the canonical record that side last held as far as the engine
knows, ``raw_hash`` that of the native payload it was read from (left out: None,
since a raw hash belongs to the seen hash it was read with)."""

_COLUMNS = ("entity", "system", "native_id", "global_id", "seen_hash", "raw_hash")


class Links:
    """The cross-reference of one scope: (entity, system, native id) -> global id."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def by_native(
        self, entity: str, system: str, native_ids: Sequence[str]
    ) -> dict[str, tuple[str, str | None]]:
        """native id -> (global id, seen hash) for the linked ones."""
        c = links.c
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in chunks(list(dict.fromkeys(native_ids))):
            rows = self._s.execute(
                select(c.native_id, c.global_id, c.seen_hash).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    c.system == system,
                    self._s.among(c.native_id, chunk),
                )
            )
            found.update({r.native_id: (r.global_id, r.seen_hash) for r in rows})
        return found

    def by_global(
        self, entity: str, global_ids: Sequence[str]
    ) -> dict[str, dict[str, tuple[str, str | None]]]:
        """global id -> {system: (native id, seen hash)}."""
        c = links.c
        found: dict[str, dict[str, tuple[str, str | None]]] = {}
        for chunk in chunks(list(dict.fromkeys(global_ids))):
            rows = self._s.execute(
                select(c.global_id, c.system, c.native_id, c.seen_hash).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    self._s.among(c.global_id, chunk),
                )
            )
            for r in rows:
                found.setdefault(r.global_id, {})[r.system] = (r.native_id, r.seen_hash)
        return found

    def read(
        self, entity: str, system: str, native_ids: Sequence[str]
    ) -> dict[str, tuple[str, str | None, str | None]]:
        """native id -> (global id, seen hash, raw hash) for the linked ones."""
        c = links.c
        found: dict[str, tuple[str, str | None, str | None]] = {}
        for chunk in chunks(list(dict.fromkeys(native_ids))):
            rows = self._s.execute(
                select(c.native_id, c.global_id, c.seen_hash, c.raw_hash).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    c.system == system,
                    self._s.among(c.native_id, chunk),
                )
            )
            # Fetched at once and read by position: a row at a time through the
            # result costs more than the query.
            found.update({nid: (gid, seen, raw) for nid, gid, seen, raw in rows.all()})
        return found

    def put(self, rows: Iterable[LinkRow]) -> None:
        """Upsert links; one without a raw hash has it cleared."""
        stmt = self._s.upsert_of(
            links,
            ("scope", "entity", "system", "native_id"),
            ("global_id", "seen_hash", "raw_hash"),
        )
        full = [tuple(r) if len(r) == 6 else (*r, None) for r in rows]
        self._s.many_tuples(stmt, {"scope": self._scope}, _COLUMNS, full)

    def put_raw_hashes(
        self, entity: str, system: str, rows: Sequence[tuple[str, str, str]]
    ) -> None:
        """Record raw hashes as ``(native_id, seen_hash, raw_hash)`` on links whose
        seen hash is still that one (records read again and found unchanged)."""
        if not rows:
            return
        c = links.c
        stmt = (
            update(links)
            .where(
                c.scope == self._scope,
                c.entity == entity,
                c.system == system,
                c.native_id == bindparam("r_native"),
                c.seen_hash == bindparam("r_seen"),
            )
            .values(raw_hash=bindparam("r_raw"))
        )
        for chunk in chunks(list(rows), 2000):
            self._s.execute(stmt, [{"r_native": n, "r_seen": s, "r_raw": r} for n, s, r in chunk])

    def forget_raw_hash(self, entity: str, system: str, native_id: str) -> None:
        """Clear a link's raw hash: the next read validates the record again."""
        c = links.c
        self._s.execute(
            update(links)
            .where(
                c.scope == self._scope,
                c.entity == entity,
                c.system == system,
                c.native_id == native_id,
            )
            .values(raw_hash=None)
        )

    def drop(self, entity: str, system: str, native_ids: Sequence[str]) -> None:
        """Remove links of deleted records."""
        c = links.c
        for chunk in chunks(list(native_ids)):
            self._s.execute(
                delete(links).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    c.system == system,
                    self._s.among(c.native_id, chunk),
                )
            )

    def native_ids(self, entity: str, system: str) -> Iterator[str]:
        """Every linked native id of one system's entity, streamed."""
        c = links.c
        result = self._s.execute(
            select(c.native_id)
            .where(c.scope == self._scope, c.entity == entity, c.system == system)
            .execution_options(yield_per=5000)
        )
        for row in result:
            yield row.native_id

    def count(self) -> dict[tuple[str, str], int]:
        """Number of links per (entity, system)."""
        c = links.c
        rows = self._s.execute(
            select(c.entity, c.system, func.count())
            .where(c.scope == self._scope)
            .group_by(c.entity, c.system)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}
