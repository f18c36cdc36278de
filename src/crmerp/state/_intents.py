"""Intents: remote writes recorded before they are sent, settled once committed.

A crash between a remote write and the commit of its outcome leaves the intent
pending; the next run finds the record by the reference stamped on it and links
it instead of creating it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from crmerp._errors import StateCorrupt
from crmerp.state._dialect import Session, chunks, now
from crmerp.state._rows import IntentRow, IntentStatus
from crmerp.state._schema import intents

__all__ = ["Intents"]

_ITEM = ("system", "global_id", "kind", "reference", "native_id", "payload_hash")
"""What each write of a batch row holds, in order."""
_BATCH = "*"
"""What the one-write columns of a batch row hold (the writes are in ``items``)."""


class Intents:
    """The write intents of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def record(self, run_id: str, rows: Sequence[dict[str, Any]], *, unit: str) -> list[int]:
        """Record writes about to be sent by the unit of work ``unit`` (its key), as
        one row for the whole batch; returns the id to close them by.

        Each of ``rows`` names entity, system, global_id, kind, reference,
        native_id and payload_hash. One row a batch instead of one a write keeps
        the intents from costing three row writes per record (insert, close,
        purge); :meth:`open` reads them back one :class:`IntentRow` per write.
        """
        if not rows:
            return []
        self._s.bumps_generation = True
        items = [[r[name] for name in _ITEM] for r in rows]
        values = {
            "scope": self._scope,
            "run_id": run_id,
            "status": IntentStatus.PENDING.value,
            "created_at": now(),
            "unit": unit,
            "entity": rows[0]["entity"],
            "system": _BATCH,
            "global_id": _BATCH,
            "kind": _BATCH,
            "reference": "",
            "native_id": None,
            "payload_hash": "",
            "items": json.dumps(items, separators=(",", ":")),
        }
        result = self._s.execute(intents.insert().values(**values))
        key = result.inserted_primary_key
        if key is None:  # pragma: no cover - the table has an integer key
            raise StateCorrupt("the state did not return the id of an inserted intent")
        return [int(key[0])]

    def close(self, ids: Sequence[int], status: IntentStatus = IntentStatus.DONE) -> None:
        """Mark intents as settled once their outcome is committed."""
        for chunk in chunks(sorted(set(ids))):
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
        found: list[IntentRow] = []
        for r in rows:
            if r.items is None:  # one write a row, as releases before batches wrote them
                found.append(
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
                )
                continue
            for system, gid, kind, reference, native_id, payload_hash in json.loads(r.items):
                found.append(
                    IntentRow(
                        r.id,
                        r.entity,
                        system,
                        gid,
                        kind,
                        reference,
                        native_id,
                        payload_hash,
                        r.run_id,
                        r.unit,
                    )
                )
        return found

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
