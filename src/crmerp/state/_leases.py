"""Leases: which engine instance may write each unit of work now, fenced by a token.

A lease row names a unit (a scope's entity and partition), the worker and the
engine instance holding it, an expiry, and a fencing token that grows by one at
every take-over by another instance (a renewal keeps it). Every commit a run
makes checks, inside its own transaction, that its units still carry the tokens
it took: a worker that lost a lease stops with :class:`~crmerp.LeaseLost` before
it writes again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, select, update

from crmerp._errors import LeaseHeld, LeaseLost
from crmerp.state._dialect import Session, aware, now
from crmerp.state._rows import LeaseRow
from crmerp.state._schema import leases

__all__ = ["Leases"]

_RELEASED = datetime(1970, 1, 1, tzinfo=UTC)
"""The expiry a released lease is given: long past, so anyone may take it."""


class Leases:
    """The leases of one scope's units of work."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def acquire(
        self,
        holder: str,
        ttl: timedelta,
        *,
        unit: str = "",
        instance: str | None = None,
        take_from: Collection[str] = (),
    ) -> int:
        """Take or renew the lease on one unit of work; returns its fencing token.

        ``holder`` names the worker, ``instance`` the engine instance (default:
        ``holder``); ``unit`` is the unit's key (``""``: the scope as a whole). The
        lease is taken when it is free, expired, already this instance's, or held
        by an instance in ``take_from`` (instances known to be dead); otherwise
        :class:`~crmerp.LeaseHeld`. One conditional upsert, so two instances racing
        for it cannot both win. A take-over by another instance adds one to the
        token; a renewal by the same instance keeps it.
        """
        at = now()
        instance = instance or holder
        c = leases.c
        stmt = self._s.insert_of(leases).values(
            scope=self._scope,
            unit=unit,
            holder=holder,
            instance=instance,
            token=1,
            expires_at=at + ttl,
        )
        ours = c.instance == stmt.excluded.instance
        free = ours | (c.expires_at < at)
        if take_from:
            free = free | c.instance.in_(list(take_from))
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "unit"],
            set_={
                "holder": stmt.excluded.holder,
                "instance": stmt.excluded.instance,
                "expires_at": stmt.excluded.expires_at,
                "token": case((ours, c.token), else_=c.token + 1),
            },
            where=free,
        )
        self._s.execute(stmt)
        row = self._s.execute(select(leases).where(c.scope == self._scope, c.unit == unit)).one()
        if row.instance != instance:
            raise LeaseHeld(
                self._scope,
                row.holder,
                str(aware(row.expires_at)),
                unit=unit or None,
                instance=row.instance,
            )
        return int(row.token)

    def check(
        self,
        instance: str,
        held: Mapping[str, int],
        ttl: timedelta,
        *,
        checked: Iterable[str],
    ) -> None:
        """The fence of a commit: inside this transaction, raise
        :class:`~crmerp.LeaseLost` unless every unit in ``checked`` is still held
        by ``instance`` with the token in ``held`` (unit key -> token taken), and
        renew the expiry of every unit in ``held`` this instance still holds.

        Called first in the transaction: on PostgreSQL the renewal locks the
        lease rows to the commit, so a take-over waits for it and then finds
        the lease renewed; on SQLite the transaction holds the write lock.
        """
        if not held:
            return
        renew, read = _fence_statements()
        self._s.execute(
            renew,
            {
                "f_scope": self._scope,
                "f_instance": instance,
                "f_units": sorted(held),
                "f_expires": now() + ttl,
            },
        )
        wanted = sorted(set(checked))
        if not wanted:
            return
        rows = {
            r.unit: r for r in self._s.execute(read, {"f_scope": self._scope, "f_units": wanted})
        }
        for unit in wanted:
            row = rows.get(unit)
            token = held.get(unit, 0)  # 0: a unit the run never took is not its own
            if row is None or row.instance != instance or int(row.token) != token:
                raise LeaseLost(
                    self._scope,
                    unit,
                    token,
                    holder=row.holder if row is not None else None,
                    current_token=int(row.token) if row is not None else None,
                )

    def release(
        self,
        holder: str,
        *,
        units: Sequence[str] | None = None,
        instance: str | None = None,
    ) -> None:
        """Give leases up (only those still this instance's; default: ``holder``).

        ``units`` limits it to those unit keys (default: every unit the instance
        holds in the scope). The row stays, expired, so the token never goes back.
        """
        c = leases.c
        query = update(leases).where(c.scope == self._scope, c.instance == (instance or holder))
        if units is not None:
            query = query.where(c.unit.in_(list(units)))
        self._s.execute(query.values(expires_at=_RELEASED))

    def all(self) -> list[LeaseRow]:
        """Every lease row of the scope, live or expired, by unit."""
        rows = self._s.execute(
            select(leases).where(leases.c.scope == self._scope).order_by(leases.c.unit)
        )
        return [
            LeaseRow(
                r.scope,
                r.unit,
                r.holder,
                r.instance,
                int(r.token),
                aware(r.expires_at) or _RELEASED,
            )
            for r in rows
        ]

    def holder(self, unit: str | None = None) -> str | None:
        """Who holds a live lease in the scope (on ``unit``, if given), if anyone.

        Expired leases count as free.
        """
        at = now()
        for row in self.all():
            if (unit is None or row.unit == unit) and row.expires_at > at:
                return row.holder
        return None


@lru_cache(maxsize=1)
def _fence_statements() -> tuple[Any, Any]:
    """The renewal and the read of a commit's fence, built once (every commit runs them)."""
    c = leases.c
    units: Any = bindparam("f_units", expanding=True)
    renew = (
        update(leases)
        .where(
            c.scope == bindparam("f_scope"),
            c.instance == bindparam("f_instance"),
            c.unit.in_(units),
        )
        .values(expires_at=bindparam("f_expires"))
    )
    read = select(c.unit, c.holder, c.instance, c.token).where(
        c.scope == bindparam("f_scope"), c.unit.in_(units)
    )
    return renew, read
