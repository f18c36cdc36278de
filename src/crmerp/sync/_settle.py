"""Settling what waits for a person: parked conflicts, match reviews, quarantine.

A decision is recorded in the state at once (and in the audit trail, with who
made it); the next run applies it, as it applies any staged change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crmerp._errors import UsageError
from crmerp.state import ConflictRecord, ConflictStatus, InboxRow, QuarantineRecord, StateTx
from crmerp.sync._codec import deterministic_id
from crmerp.sync._context import ENGINE_SYSTEM
from crmerp.sync._decisions import record_decision, record_retries
from crmerp.sync._stamps import is_copy_review, settle_copy

__all__ = ["UNSET", "put_back", "settle_conflict"]

UNSET: Any = object()
"""No value given (``None`` is a value a person may choose)."""

Systems = tuple[tuple[str, str], tuple[str, str]]
"""(system, instance) of the CRM and of the ERP."""


def settle_conflict(
    tx: StateTx,
    systems: Systems,
    conflict_id: int,
    *,
    pick: str | None,
    value: Any = UNSET,
    by: str | None = None,
) -> None:
    """Record a person's decision on a parked conflict or a match review."""
    conflict = tx.reviews.conflict(conflict_id)
    if conflict is not None and conflict.status == "open":
        decided = f"pick {pick}" if value is UNSET else "value"
        record_decision(tx, conflict, decided, None if value is UNSET else value, by)
    if conflict is None:
        raise UsageError(f"no conflict {conflict_id}", code="resolve-unknown")
    if conflict.status != "open":
        raise UsageError(
            f"conflict {conflict_id} is already {conflict.status}", code="resolve-settled"
        )
    if conflict.kind == "match":
        _settle_match(tx, systems, conflict, pick)
        return
    if value is UNSET:
        if pick not in {"crm", "erp"}:
            raise UsageError("give pick='crm', pick='erp' or value=...", code="resolve-pick")
        # The picked side's value at the next run counts (it may have been edited
        # since); the value shown now is the fallback.
        fallback = conflict.crm if pick == "crm" else conflict.erp
        resolution: dict[str, Any] = {"pick": pick, "fallback": fallback}
    else:
        resolution = {"value": value}
    tx.reviews.set_conflict(conflict_id, ConflictStatus.RESOLVED, resolution)
    gid = conflict.global_id
    tx.inbox.stage([InboxRow(conflict.entity, ENGINE_SYSTEM, gid, gid, None, None)])


def _settle_match(
    tx: StateTx, systems: Systems, conflict: ConflictRecord, pick: str | None
) -> None:
    if pick not in {"link", "new"}:
        raise UsageError("a match review takes pick='link' or pick='new'", code="resolve-match")
    if is_copy_review(conflict):
        settle_copy(tx, conflict, pick)
        return
    ids = (str(conflict.crm), str(conflict.erp))
    entity = conflict.entity
    if pick == "link":
        pairs = zip(systems, ids, strict=True)
        rows = [(system, native, conflict.global_id) for (system, _i), native in pairs]
    else:
        rows = [
            (system, native, deterministic_id(tx.scope, entity, system, instance, native))
            for (system, instance), native in zip(systems, ids, strict=True)
        ]
    tx.inbox.assign(entity, rows)
    decision = "confirmed" if pick == "link" else "rejected"
    tx.reviews.decide_match(entity, ids[0], ids[1], decision)
    tx.reviews.set_conflict(conflict.id, ConflictStatus.APPLIED, {"pick": pick})


def put_back(tx: StateTx, ids: Iterable[int] | None, by: str | None) -> int:
    """Put quarantined records (all, or those of ``ids``) back in line; how many."""
    wanted = None if ids is None else set(ids)
    chosen = [q for q in tx.reviews.quarantined() if wanted is None or q.id in wanted]
    unknown = sorted((wanted or set()) - {q.id for q in chosen})
    if unknown:
        raise UsageError(
            f"no quarantined record {', '.join(map(str, unknown))}", code="quarantine-unknown"
        )
    record_retries(tx, chosen, by)
    for item in chosen:
        tx.inbox.defer(item.entity, [(item.system, item.native_id)], "retry")
    _requeue_failed(tx, chosen)
    tx.reviews.drop_quarantine([q.id for q in chosen])
    return len(chosen)


def _requeue_failed(tx: StateTx, items: Sequence[QuarantineRecord]) -> None:
    """Changes held because of these records go back in line. Failed writes keep
    their staged rows; bad reads are re-read: their cursor is rewound to the start
    (the engine skips what did not change)."""
    for item in items:
        # Changes that waited for this record (the other side's edit of a record
        # that would not validate here) go back in line too.
        tx.inbox.retry_failed(item.entity, item.reason)
        if item.reason.startswith("write refused"):
            tx.inbox.retry_failed(item.entity)
        else:
            tx.cursors.set(item.system, item.entity, None)
