"""What waits for a person: parked conflicts, match decisions, quarantined records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from crmerp._errors import StateCorrupt
from crmerp.state._dialect import Session, aware, chunks, now
from crmerp.state._links import Links
from crmerp.state._rows import ConflictRecord, ConflictStatus, QuarantineRecord
from crmerp.state._schema import conflicts, match_decisions, quarantine

__all__ = ["Reviews"]

_OPEN = ConflictStatus.OPEN.value


class Reviews:
    """Conflicts, match decisions and quarantine of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    # --- conflicts -----------------------------------------------------------------

    def add_conflict(self, **values: Any) -> int:
        """Park a conflict (or a match to review); returns its id.

        An open conflict on the same record and field is updated, not repeated.
        """
        encoded = {
            k: json.dumps(v, sort_keys=True, default=str)
            if k in {"base", "crm", "erp", "detail"}
            else v
            for k, v in values.items()
        }
        c = conflicts.c
        existing = self._s.execute(
            select(c.id).where(
                c.scope == self._scope,
                c.status == _OPEN,
                c.kind == encoded["kind"],
                c.entity == encoded["entity"],
                c.global_id == encoded["global_id"],
                c.field == encoded["field"],
            )
        ).scalar()
        if existing is not None:
            self._s.execute(update(conflicts).where(c.id == existing).values(**encoded))
            return int(existing)
        result = self._s.execute(
            conflicts.insert().values(scope=self._scope, status=_OPEN, created_at=now(), **encoded)
        )
        key = result.inserted_primary_key
        if key is None:  # pragma: no cover - the table has an integer key
            raise StateCorrupt("the state did not return the id of an inserted conflict")
        return int(key[0])

    def conflicts(self, status: ConflictStatus | str | None = _OPEN) -> list[ConflictRecord]:
        """Conflicts of the scope, open ones by default (``None`` for all)."""
        query = select(conflicts).where(conflicts.c.scope == self._scope)
        if status is not None:
            query = query.where(conflicts.c.status == str(status))
        return [_conflict(r) for r in self._s.execute(query.order_by(conflicts.c.id))]

    def conflict(self, conflict_id: int) -> ConflictRecord | None:
        """One conflict by id."""
        c = conflicts.c
        row = self._s.execute(
            select(conflicts).where(c.scope == self._scope, c.id == conflict_id)
        ).first()
        return _conflict(row) if row is not None else None

    def set_conflict(
        self, conflict_id: int, status: ConflictStatus | str, resolution: Any = None
    ) -> None:
        """Record a resolution (``resolved``) or close a conflict (``applied``)."""
        values: dict[str, Any] = {"status": str(status)}
        if resolution is not None:
            values["resolution"] = json.dumps(resolution, sort_keys=True, default=str)
            values["resolved_at"] = now()
        self._s.execute(update(conflicts).where(conflicts.c.id == conflict_id).values(**values))

    def open_fields(self, entity: str, global_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """global id -> {field: conflict id} of open field conflicts."""
        c = conflicts.c
        found: dict[str, dict[str, int]] = {}
        for chunk in chunks(list(dict.fromkeys(global_ids))):
            rows = self._s.execute(
                select(c.global_id, c.field, c.id).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    c.kind == "field",
                    c.status == _OPEN,
                    self._s.among(c.global_id, chunk),
                )
            )
            for r in rows:
                found.setdefault(r.global_id, {})[r.field] = int(r.id)
        return found

    # --- match decisions -----------------------------------------------------------

    def decide_match(self, entity: str, crm_id: str, erp_id: str, decision: str) -> None:
        """Remember that a person confirmed or rejected a candidate pair."""
        row = {
            "scope": self._scope,
            "entity": entity,
            "crm_id": crm_id,
            "erp_id": erp_id,
            "decision": decision,
            "decided_at": now(),
        }
        keys = ["scope", "entity", "crm_id", "erp_id"]
        self._s.upsert(match_decisions, [row], keys, ["decision", "decided_at"])

    def match_decisions(self, entity: str, decision: str) -> set[tuple[str, str]]:
        """``(crm_id, erp_id)`` pairs with that decision."""
        c = match_decisions.c
        rows = self._s.execute(
            select(c.crm_id, c.erp_id).where(
                c.scope == self._scope, c.entity == entity, c.decision == decision
            )
        )
        return {(r.crm_id, r.erp_id) for r in rows}

    # --- quarantine ----------------------------------------------------------------

    def quarantine(self, rows: Sequence[dict[str, Any]]) -> None:
        """Set records aside with their reason; one entry per record (latest wins).

        Their links forget the raw hash, so the next read validates them again
        even unchanged (a record set aside is never skipped as already read).
        """
        if not rows:
            return
        c = quarantine.c
        links = Links(self._s, self._scope)
        for row in rows:
            self._s.execute(
                delete(quarantine).where(
                    c.scope == self._scope,
                    c.entity == row["entity"],
                    c.system == row["system"],
                    c.native_id == row["native_id"],
                )
            )
            links.forget_raw_hash(row["entity"], row["system"], row["native_id"])
        stamp = now()
        self._s.execute(
            quarantine.insert(), [{"scope": self._scope, "created_at": stamp, **r} for r in rows]
        )

    def release(self, entity: str, system: str, native_ids: Sequence[str]) -> None:
        """Remove records from quarantine once they went through."""
        c = quarantine.c
        for chunk in chunks(list(native_ids)):
            self._s.execute(
                delete(quarantine).where(
                    c.scope == self._scope,
                    c.entity == entity,
                    c.system == system,
                    self._s.among(c.native_id, chunk),
                )
            )

    def quarantined(self) -> list[QuarantineRecord]:
        """Everything in quarantine."""
        rows = self._s.execute(
            select(quarantine).where(quarantine.c.scope == self._scope).order_by(quarantine.c.id)
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
                aware(r.created_at) or now(),
            )
            for r in rows
        ]

    def drop_quarantine(self, ids: Sequence[int] | None = None) -> None:
        """Forget quarantine entries (all of the scope when ``ids`` is None)."""
        query = delete(quarantine).where(quarantine.c.scope == self._scope)
        if ids is not None:
            query = query.where(quarantine.c.id.in_(list(ids)))
        self._s.execute(query)


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
        status=ConflictStatus(row.status),
        resolution=load(row.resolution),
        created_at=aware(row.created_at) or now(),
        resolved_at=aware(row.resolved_at),
    )
