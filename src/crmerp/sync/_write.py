"""Write: re-check, record intents, send each side's writes, collect the answers.

Before anything is sent, records about to be updated are read again: one edited
since it was read is not overwritten blind; its group waits and the fresh
record is staged to be merged. Then every write is recorded as an intent (so a
crash between the remote write and the commit is settled on restart, never
duplicated), sent in the side's batch size, and answered per record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import DataError
from crmerp.adapters import (
    NativeRecord,
    WriteKind,
    WriteOp,
    WriteResult,
    WriteStatus,
    reference_for,
)
from crmerp.state import InboxRow
from crmerp.sync._codec import dumps, fingerprint
from crmerp.sync._context import RunContext, Side
from crmerp.sync._gather import canonical, feed_tells_deletes, fetch
from crmerp.sync._plan import GroupPlan, Op, SetAside
from crmerp.sync._recovery import find_created
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
    versions: Mapping[OpKey, str | None] = attrs.Factory(dict)
    """Versions of records re-read unchanged, for the writes to expect."""


def write(ctx: RunContext, entity: str, plans: Sequence[GroupPlan]) -> Sent:
    """Send the writes of every plan that is done; answers by op."""
    checked = Sent() if ctx.dry else _check_unchanged(ctx, entity, plans)
    waiting = set(checked.changed) | set(checked.unreadable)
    refreshed = checked.versions
    ops = [
        ((plan.gid, index), plan, _refreshed(op, refreshed.get((plan.gid, index), _KEEP)))
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
            "reference": reference_for(plan.gid, op.side.instance),
            "native_id": op.native_id,
            "payload_hash": op.seen_hash or "",
        }
        for _key, plan, op in ops
    ]
    unit = ctx.unit(entity)
    with ctx.tx(unit) as tx:
        intent_ids = tx.intents.record(ctx.run_id, intent_rows, unit=unit.key)
    ctx.boundary("intent.recorded")
    results: dict[OpKey, WriteResult] = {}
    for side in ctx.sides():
        mine = [(key, plan, op) for key, plan, op in ops if op.side is side]
        for start in range(0, len(mine), side.caps.max_batch):
            chunk = mine[start : start + side.caps.max_batch]
            results.update(_send(ctx, entity, side, chunk))
    if not ctx.dry:
        _landed(ctx, entity, [(k, p, o) for k, p, o in ops if _is_retry(results.get(k))], results)
    restage = list(checked.restage)
    stale = [(key, plan, op) for key, plan, op in ops if _is_stale(results.get(key), op)]
    if stale:
        again = _restage_stale(ctx, entity, stale, restage, results, resend=True)
        for key, plan, op in again:
            results.update(_send(ctx, entity, op.side, [(key, plan, op)]))
        still = [(k, p, o) for k, p, o in again if _is_stale(results.get(k), o)]
        _restage_stale(ctx, entity, still, restage, results, resend=False)
    return attrs.evolve(
        checked, results=results, restage=tuple(restage), intent_ids=tuple(intent_ids)
    )


_KEEP: Any = object()


def _refreshed(op: Op, version: Any) -> Op:
    return op if version is _KEEP else attrs.evolve(op, version=version)


def _is_stale(result: WriteResult | None, op: Op) -> bool:
    return result is not None and result.status is WriteStatus.STALE and op.native_id is not None


def _is_retry(result: WriteResult | None) -> bool:
    return result is not None and result.status is WriteStatus.RETRY


def _landed(
    ctx: RunContext,
    entity: str,
    unsure: Sequence[tuple[OpKey, GroupPlan, Op]],
    results: dict[OpKey, WriteResult],
) -> None:
    """Writes answered ``retry`` whose record holds exactly what they would have
    made of it went through after all (an attempt whose answer was lost, then a
    retry answered retry): their answer becomes done. Otherwise the engine's own
    write would come back on the next pass as that side's data, with no base to
    tell it from an edit, and could win over a real edit made since."""
    for side in ctx.sides():
        mine = [(k, p, o) for k, p, o in unsure if o.side is side and o.seen_hash is not None]
        if not mine or not side.reads(entity):
            continue
        creates = {
            reference_for(p.gid, side.instance): (k, o) for k, p, o in mine if o.native_id is None
        }
        updates = {o.native_id: (k, o) for k, _p, o in mine if o.native_id is not None}
        found: dict[str, tuple[OpKey, Op, NativeRecord]] = {}
        if creates:
            for ref, record in find_created(ctx, side, entity, list(creates)).items():
                if ref in creates:
                    found[record.id] = (*creates[ref], record)
        if updates:
            for record in fetch(ctx, side, entity, list(updates)):
                if record.id in updates:
                    found[record.id] = (*updates[record.id], record)
        for native_id, (key, op, record) in found.items():
            try:
                held = fingerprint(dumps(canonical(side, entity, record)))
            except DataError:
                continue
            if held == op.seen_hash:
                results[key] = WriteResult.done(native_id)


def _check_unchanged(ctx: RunContext, entity: str, plans: Sequence[GroupPlan]) -> Sent:
    """Re-read records about to be updated; one edited since it was read is not
    overwritten blind: its group waits and the edit is merged on the next pass.

    A write to a side with conditional writes whose version is known needs no
    re-read: the system itself refuses it if the record changed since. For the
    others the re-read narrows the window, and gives the version to expect.
    """
    changed: dict[str, str] = {}
    unreadable: dict[str, SetAside] = {}
    versions: dict[OpKey, str | None] = {}
    restage: list[InboxRow] = []
    for side in ctx.sides():
        expected = {
            op.native_id: ((plan.gid, index), plan, op)
            for plan in plans
            if plan.done
            for index, op in enumerate(plan.ops)
            if op.side is side
            and op.kind is WriteKind.UPDATE
            and op.native_id
            and op.expect is not None
            and side.reads(entity)
            and not (side.caps.conditional_writes and op.version is not None)
        }
        if not expected:
            continue
        found = {r.id: r for r in fetch(ctx, side, entity, list(expected))}
        for native_id, (key, plan, op) in expected.items():
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
            if record is None and feed_tells_deletes(side):
                changed[plan.gid] = f"{side.system} {native_id} not found on a re-read; waits"
            elif current is None or fingerprint(dumps(current)) not in {op.expect, op.own}:
                changed[plan.gid] = f"{side.system} {native_id} changed while syncing; re-merging"
                restage.append(_fresh_row(entity, side, plan.gid, native_id, record, current))
            else:
                assert record is not None
                versions[key] = record.version
    return Sent(changed=changed, unreadable=unreadable, restage=tuple(restage), versions=versions)


def _fresh_row(
    entity: str,
    side: Side,
    gid: str,
    native_id: str,
    record: NativeRecord | None,
    current: Mapping[str, Any] | None,
) -> InboxRow:
    """``side``'s record as re-read now, staged again to be merged afresh."""
    return InboxRow(
        entity,
        side.system,
        native_id,
        gid,
        dumps(current) if current is not None else None,
        record.stamp if record is not None else None,
        deleted=record is None,
        version=record.version if record is not None else None,
    )


def _restage_stale(
    ctx: RunContext,
    entity: str,
    stale: Sequence[tuple[OpKey, GroupPlan, Op]],
    restage: list[InboxRow],
    results: dict[OpKey, WriteResult],
    *,
    resend: bool,
) -> list[tuple[OpKey, GroupPlan, Op]]:
    """Re-read the records whose writes were refused as stale and stage them
    again: the edit that made them stale is merged, never written over.

    A record found holding exactly what this write would have made of it was
    written after all: an attempt whose answer was lost went through, and the
    retry that expected the old version was refused. Its answer becomes done
    (otherwise the engine's own write would come back as somebody's edit, with
    the base still before it, and could win over a real edit made since).

    A record found holding exactly what the engine itself last wrote there (a
    write of an earlier pass whose group had to wait) was made stale by the
    engine, not by a user: with ``resend`` its write is returned to be sent
    again, expecting the version just read.
    """
    again: list[tuple[OpKey, GroupPlan, Op]] = []
    for side in ctx.sides():
        wanted = {op.native_id: (k, p, op) for k, p, op in stale if op.side is side}
        if not wanted or not side.reads(entity):
            continue
        found = {r.id: r for r in fetch(ctx, side, entity, [n for n in wanted if n])}
        for native_id, (key, plan, op) in wanted.items():
            assert native_id is not None
            record = found.get(native_id)
            try:
                current = canonical(side, entity, record) if record is not None else None
            except DataError:
                # Edited into a form that does not validate: the edit is newer
                # than the cursor, so the next read quarantines it with its reason.
                continue
            if record is None and feed_tells_deletes(side):
                continue  # a read behind the write: the feed says whether it is gone
            held = fingerprint(dumps(current)) if current is not None else None
            if record is not None and held is not None and held == op.seen_hash:
                results[key] = WriteResult.done(native_id)
                continue
            ours = held is not None and held == op.own
            if resend and record is not None and ours:
                again.append((key, plan, attrs.evolve(op, version=record.version)))
                continue
            restage.append(_fresh_row(entity, side, plan.gid, native_id, record, current))
    return again


def _send(
    ctx: RunContext, entity: str, side: Side, chunk: list[tuple[OpKey, GroupPlan, Op]]
) -> dict[OpKey, WriteResult]:
    write_ops = [
        WriteOp(
            op.kind,
            reference_for(plan.gid, side.instance),
            op.payload,
            op.native_id,
            op.version if op.kind is not WriteKind.CREATE else None,
        )
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
        # The fence again right before each attempt: a run that stalled since its
        # intents were recorded (or in a retry's wait) and lost its lease sends nothing.
        ctx.check_lease(ctx.unit(entity))
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
