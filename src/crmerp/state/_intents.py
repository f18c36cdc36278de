"""Intents: remote writes recorded before they are sent, settled once committed.

A crash between a remote write and the commit of its outcome leaves the intent
pending; the next run finds the record by the reference stamped on it and links
it instead of creating it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from crmerp.state._dialect import Session, chunks, now
from crmerp.state._rows import IntentRow, IntentStatus
from crmerp.state._schema import intents

__all__ = ["Intents"]

_COLUMNS = ("entity", "system", "global_id", "kind", "reference", "native_id", "payload_hash")


class Intents:
    """The write intents of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def record(self, run_id: str, rows: Sequence[dict[str, Any]], *, unit: str) -> list[int]:
        """Record writes about to be sent by the unit of work ``unit`` (its key);
        returns their ids in order."""
        if not rows:
            return []
        self._s.bumps_generation = True
        fixed = {
            "scope": self._scope,
            "run_id": run_id,
            "status": IntentStatus.PENDING.value,
            "created_at": now(),
            "unit": unit,
        }
        if not self._s.postgres:
            # Through the driver, then the ids: the insert holds the write lock to
            # the commit, so the rows took the consecutive ids ending at the highest.
            pick = itemgetter(*_COLUMNS)
            self._s.many_tuples(_insert_statement(), fixed, _COLUMNS, [pick(r) for r in rows])
            last = int(self._s.execute(select(func.max(intents.c.id))).scalar_one())
            return list(range(last - len(rows) + 1, last + 1))
        payload = [{**fixed, **row} for row in rows]
        stmt = intents.insert().returning(intents.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        for chunk in chunks(payload, 2000):
            ids.extend(int(r[0]) for r in self._s.execute(stmt, list(chunk)))
        return ids

    def close(self, ids: Sequence[int], status: IntentStatus = IntentStatus.DONE) -> None:
        """Mark intents as settled once their outcome is committed."""
        for chunk in chunks(list(ids)):
            among = self._s.among(intents.c.id, chunk)
            self._s.execute(update(intents).where(among).values(status=status.value))

    def open(self, units: Sequence[str] | None = None) -> list[IntentRow]:
        """Writes that were recorded but whose outcome was never committed; only
        those of the units ``units`` (keys) when given."""
        c = intents.c
        query = select(intents).where(
            c.scope == self._scope, c.status == IntentStatus.PENDING.value
        )
        if units is not None:
            query = query.where(c.unit.in_(list(units)))
        rows = self._s.execute(query.order_by(c.id))
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
                r.unit,
            )
            for r in rows
        ]

    def purge(self, units: Sequence[str] | None = None) -> None:
        """Drop settled intents (they are history once committed); only those of
        the units ``units`` (keys) when given."""
        c = intents.c
        query = delete(intents).where(
            c.scope == self._scope, c.status != IntentStatus.PENDING.value
        )
        if units is not None:
            query = query.where(c.unit.in_(list(units)))
        self._s.execute(query)


@lru_cache(maxsize=1)
def _insert_statement() -> Any:
    return intents.insert().values(
        {c.name: bindparam(c.name) for c in intents.columns if c.name != "id"}
    )
