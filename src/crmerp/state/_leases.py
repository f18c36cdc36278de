"""Leases: which worker may write a scope now."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, select

from crmerp._errors import LeaseHeld
from crmerp.state._dialect import Session, aware, now
from crmerp.state._schema import leases

__all__ = ["Leases"]


class Leases:
    """The lease of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def acquire(self, holder: str, ttl: timedelta) -> None:
        """Take or renew the scope's lease, or raise :class:`~crmerp.LeaseHeld`.

        One conditional upsert: it takes the row only when it is free, expired or
        already ours, so two workers racing for it cannot both win.
        """
        at = now()
        c = leases.c
        stmt = self._s.insert_of(leases).values(
            scope=self._scope, holder=holder, expires_at=at + ttl
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(c.holder == holder) | (c.expires_at < at),
        )
        self._s.execute(stmt)
        row = self._s.execute(select(leases).where(c.scope == self._scope)).first()
        if row is not None and row.holder != holder:
            raise LeaseHeld(self._scope, row.holder, str(aware(row.expires_at)))

    def release(self, holder: str) -> None:
        """Give the lease up (only if still ours)."""
        c = leases.c
        self._s.execute(delete(leases).where(and_(c.scope == self._scope, c.holder == holder)))

    def holder(self) -> str | None:
        """Who holds the lease now, if anyone (expired leases count as free)."""
        row = self._s.execute(select(leases).where(leases.c.scope == self._scope)).first()
        if row is None or (aware(row.expires_at) or now()) <= now():
            return None
        return str(row.holder)
