"""Bases: the last version both systems agreed on, per global record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import delete, select

from crmerp.state._dialect import Session, chunks
from crmerp.state._schema import bases

__all__ = ["Bases"]


class Bases:
    """The merge bases of one scope, as canonical JSON text."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def get(self, entity: str, global_ids: Sequence[str]) -> dict[str, str]:
        """global id -> base JSON for those that have a base."""
        c = bases.c
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(global_ids))):
            rows = self._s.execute(
                select(c.global_id, c.data).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    self._s.among(c.global_id, chunk),
                )
            )
            found.update({r.global_id: r.data for r in rows})
        return found

    def put(self, entity: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Upsert bases as ``(global_id, json, hash)``."""
        stmt = self._s.upsert_of(bases, ("scope", "entity", "global_id"), ("data", "hash"))
        fixed = {"scope": self._scope, "entity": entity}
        self._s.many_tuples(stmt, fixed, ("global_id", "data", "hash"), [tuple(r) for r in rows])

    def drop(self, entity: str, global_ids: Sequence[str]) -> None:
        """Forget the bases of deleted records."""
        c = bases.c
        for chunk in chunks(list(global_ids)):
            self._s.execute(
                delete(bases).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    self._s.among(c.global_id, chunk),
                )
            )

    def all(self, entity: str) -> Iterator[tuple[str, str]]:
        """Every ``(global_id, json)`` base of an entity, streamed in id order."""
        c = bases.c
        result = self._s.execute(
            select(c.global_id, c.data)
            .where(c.scope == self._scope, c.entity == entity)
            .order_by(c.global_id)
            .execution_options(yield_per=2000)
        )
        for row in result:
            yield row.global_id, row.data
