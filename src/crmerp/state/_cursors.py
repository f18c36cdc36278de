"""Cursors: where each system's change feed of each entity was last read up to."""

from __future__ import annotations

from sqlalchemy import delete, select

from crmerp.state._dialect import Session, now
from crmerp.state._schema import cursors

__all__ = ["Cursors"]


class Cursors:
    """The committed cursors of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def get(self, system: str, entity: str) -> str | None:
        """The committed cursor of one system's entity feed."""
        c = cursors.c
        value = self._s.execute(
            select(c.cursor).where(c.scope == self._scope, c.system == system, c.entity == entity)
        ).scalar()
        return None if value is None else str(value)

    def set(self, system: str, entity: str, cursor: str | None) -> None:
        """Move a cursor; only ever after the changes before it are durable."""
        self._s.bumps_generation = True
        row = {
            "scope": self._scope,
            "system": system,
            "entity": entity,
            "cursor": cursor,
            "updated_at": now(),
        }
        self._s.upsert(cursors, [row], ["scope", "system", "entity"], ["cursor", "updated_at"])

    def all(self) -> dict[tuple[str, str], str | None]:
        """Every cursor of the scope keyed by (system, entity)."""
        c = cursors.c
        rows = self._s.execute(select(c.system, c.entity, c.cursor).where(c.scope == self._scope))
        return {(r.system, r.entity): r.cursor for r in rows}

    def reset(self) -> None:
        """Forget every cursor of the scope (the next run reads everything)."""
        self._s.bumps_generation = True
        self._s.execute(delete(cursors).where(cursors.c.scope == self._scope))
