"""Links: which native record of each system is which global record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import delete, func, select

from crmerp.state._dialect import Session, chunks
from crmerp.state._schema import links

__all__ = ["LinkRow", "Links"]

LinkRow = tuple[str, str, str, str, str | None]
"""``(entity, system, native_id, global_id, seen_hash)``: ``seen_hash`` is the
hash of the canonical record that side last held as far as the engine knows."""

_COLUMNS = ("entity", "system", "native_id", "global_id", "seen_hash")


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

    def put(self, rows: Iterable[LinkRow]) -> None:
        """Upsert links."""
        stmt = self._s.upsert_of(
            links, ("scope", "entity", "system", "native_id"), ("global_id", "seen_hash")
        )
        self._s.many_tuples(stmt, {"scope": self._scope}, _COLUMNS, [tuple(r) for r in rows])

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
