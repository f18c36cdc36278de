"""Write: re-check, record intents, send each side's writes, collect the answers.

Before anything is sent, records about to be updated are read again: one edited
since it was read is not overwritten blind; its group waits and the fresh
record is staged to be merged. Then every write is recorded as an intent (so a
crash between the remote write and the commit is settled on restart, never
duplicated), sent in the side's batch size, and answered per record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from crmerp._errors import DataError
from crmerp.adapters import WriteKind, WriteOp, WriteResult, reference_for
from crmerp.state import InboxRow
from crmerp.sync._codec import dumps, fingerprint
from crmerp.sync._context import RunContext, Side
from crmerp.sync._gather import canonical, fetch
from crmerp.sync._plan import GroupPlan, Op, SetAside
from crmerp.sync._report import PlannedWrite

__all__ = ["OpKey", "Sent", "write"]

OpKey = tuple[str, int]
"""An op of a batch: (global id of its group, its place among the group's ops)."""


@attrs.frozen
class Sent:
    """What the write stage did: the answers, and the groups that must wait.

    ``changed`` maps a group whose record was edited since it was read to the
    note it waits with; ``unreadable`` a group whose record no longer validates;
    ``restage`` holds the fresh records to merge on the next pass.
    """

    results: Mapping[OpKey, WriteResult] = attrs.Factory(dict)
    changed: Mapping[str, str] = attrs.Factory(dict)
    unreadable: Mapping[str, SetAside] = attrs.Factory(dict)
    restage: tuple[InboxRow, ...] = ()
    intent_ids: tuple[int, ...] = ()


def write(ctx: RunContext, entity: str, plans: Sequence[GroupPlan]) -> Sent:
    """Send the writes of every plan that is done; answers by op."""
    checked = Sent() if ctx.dry else _check_unchanged(ctx, entity, plans)
    waiting = set(checked.changed) | set(checked.unreadable)
    ops = [
        ((plan.gid, index), plan, op)
        for plan in plans
        if plan.done and plan.gid not in waiting
        for index, op in enumerate(plan.ops)
    ]
    if not ops:
        return checked
    intent_rows = [
        {
            "entity": entity,
            "system": op.side.system,
            "global_id": plan.gid,
            "kind": op.kind.value,
            "reference": reference_for(plan.gid),
            "native_id": op.native_id,
            "payload_hash": op.seen_hash or "",
        }
        for _key, plan, op in ops
    ]
    with ctx.tx() as tx:
        intent_ids = tx.intents.record(ctx.run_id, intent_rows)
    ctx.boundary("intent.recorded")
    results: dict[OpKey, WriteResult] = {}
    for side in ctx.sides():
        mine = [(key, plan, op) for key, plan, op in ops if op.side is side]
        for start in range(0, len(mine), side.caps.max_batch):
            chunk = mine[start : start + side.caps.max_batch]
            results.update(_send(ctx, entity, side, chunk))
    return attrs.evolve(checked, results=results, intent_ids=tuple(intent_ids))


def _check_unchanged(ctx: RunContext, entity: str, plans: Sequence[GroupPlan]) -> Sent:
    """Re-read records about to be updated; one edited since it was read is not
    overwritten blind: its group waits and the edit is merged on the next pass."""
    changed: dict[str, str] = {}
    unreadable: dict[str, SetAside] = {}
    restage: list[InboxRow] = []
    for side in ctx.sides():
        expected = {
            op.native_id: (plan, op)
            for plan in plans
            if plan.done
            for op in plan.ops
            if op.side is side
            and op.kind is WriteKind.UPDATE
            and op.native_id
            and op.expect is not None
            and side.reads(entity)
        }
        if not expected:
            continue
        found = {r.id: r for r in fetch(ctx, side, entity, list(expected))}
        for native_id, (plan, op) in expected.items():
            record = found.get(native_id)
            try:
                current = canonical(side, entity, record) if record is not None else None
            except DataError as exc:
                unreadable[plan.gid] = SetAside(
                    side.system, native_id, exc.field or "", f"{side.system}: {exc}"
                )
                continue
            # What the engine itself last wrote there (a write of an earlier pass
            # whose group had to wait) is not somebody else's edit.
            if current is None or fingerprint(dumps(current)) not in {op.expect, op.own}:
                changed[plan.gid] = f"{side.system} {native_id} changed while syncing; re-merging"
                restage.append(
                    InboxRow(
                        entity,
                        side.system,
                        native_id,
                        plan.gid,
                        dumps(current) if current is not None else None,
                        record.stamp if record is not None else None,
                        deleted=record is None,
                    )
                )
    return Sent(changed=changed, unreadable=unreadable, restage=tuple(restage))


def _send(
    ctx: RunContext, entity: str, side: Side, chunk: list[tuple[OpKey, GroupPlan, Op]]
) -> dict[OpKey, WriteResult]:
    write_ops = [
        WriteOp(op.kind, reference_for(plan.gid), op.payload, op.native_id)
        for _key, plan, op in chunk
    ]
    if ctx.dry:
        for _key, plan, op in chunk:
            ctx.report.planned.append(
                PlannedWrite(
                    entity, side.name, op.kind.value, plan.gid, op.native_id, dict(op.changes)
                )
            )
        return {
            key: WriteResult.done(op.native_id or f"(planned {plan.gid[:8]})")
            for key, plan, op in chunk
        }

    def send() -> list[WriteResult]:
        # Without upsert by reference, look for records an earlier attempt (whose
        # answer was lost) already made, before every attempt.
        ops = write_ops
        if not side.caps.upsert_by_reference:
            ops = _resolve_existing(side, entity, write_ops)
        return side.adapter.write_checked(entity, ops)

    ctx.boundary("write.sent")
    results: list[WriteResult] = ctx.call(f"write {side.system} {entity}", send)
    ctx.boundary("write.answered")
    return {key: result for (key, _p, _o), result in zip(chunk, results, strict=True)}


def _resolve_existing(side: Side, entity: str, ops: list[WriteOp]) -> list[WriteOp]:
    refs = [op.reference for op in ops if op.kind is WriteKind.CREATE]
    if not refs:
        return ops
    found = side.adapter.find_by_reference(entity, refs)
    return [
        attrs.evolve(op, kind=WriteKind.UPDATE, native_id=found[op.reference].id)
        if op.kind is WriteKind.CREATE and op.reference in found
        else op
        for op in ops
    ]
