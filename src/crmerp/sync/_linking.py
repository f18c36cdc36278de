"""Link: pair new records across the systems before anything is created.

Every staged record already carries a global id: its link's, the one in the
reference crmerp stamped on it, or a deterministic id of its own. Records no
link ties yet are *new*; when both systems have new records the matcher pairs
them: a pair shares the CRM record's id, a pair in the review band is held back
as a match conflict, and the rest keep their own ids and get created.
"""

from __future__ import annotations

import json

from crmerp.models import ENTITY_MODELS, CanonicalModel
from crmerp.state import InboxRow
from crmerp.sync._context import RunContext

__all__ = ["link_new"]


def link_new(ctx: RunContext, entity: str) -> None:
    """Match new records of ``entity`` across the two systems."""
    if ctx.matcher is None:
        return
    with ctx.tx() as tx:
        counts = tx.inbox.new_counts(entity)
    if not counts.get(ctx.crm.system) or not counts.get(ctx.erp.system):
        return
    with ctx.tx() as tx:
        crm_rows = list(tx.inbox.new_rows(entity, ctx.crm.system))
        erp_rows = list(tx.inbox.new_rows(entity, ctx.erp.system))
    crm_rows, erp_rows = _pair_by_stamp(ctx, entity, crm_rows, erp_rows)
    if crm_rows and erp_rows:
        _match(ctx, entity, crm_rows, erp_rows)


def _pair_by_stamp(
    ctx: RunContext, entity: str, crm_rows: list[InboxRow], erp_rows: list[InboxRow]
) -> tuple[list[InboxRow], list[InboxRow]]:
    """Pair new records staged under one global id (a stamp this state does not know
    that names the other record's own id) before the matcher can split them."""
    crm_ids = {r.global_id: r.native_id for r in crm_rows}
    paired = [
        (gid, crm_ids[gid], r.native_id)
        for r in erp_rows
        if (gid := r.global_id) is not None and gid in crm_ids
    ]
    if not paired:
        return crm_rows, erp_rows
    with ctx.tx(ctx.unit(entity)) as tx:
        tx.inbox.assign(
            entity,
            [
                (s, n, g)
                for g, c, e in paired
                for s, n in ((ctx.crm.system, c), (ctx.erp.system, e))
            ],
        )
    ctx.report.entity(entity).linked_by_match += len(paired)
    taken = {g for g, _c, _e in paired}
    return (
        [r for r in crm_rows if r.global_id not in taken],
        [r for r in erp_rows if r.global_id not in taken],
    )


def _models(entity: str, rows: list[InboxRow]) -> list[CanonicalModel]:
    model = ENTITY_MODELS[entity]
    return [
        model.model_validate({**json.loads(row.data), "id": row.native_id})
        for row in rows
        if row.data is not None
    ]


def _match(
    ctx: RunContext, entity: str, crm_rows: list[InboxRow], erp_rows: list[InboxRow]
) -> None:
    assert ctx.matcher is not None
    with ctx.tx() as tx:
        rejected = frozenset(tx.reviews.match_decisions(entity, "rejected"))
    decisions = ctx.matcher.match(
        entity, _models(entity, crm_rows), _models(entity, erp_rows), rejected
    )
    rep = ctx.report.entity(entity)
    # Each row keeps the global id it was staged with (never recomputed: a record
    # staged by an older release keeps the id that release gave it).
    own = {(ctx.crm.system, r.native_id): r.global_id for r in crm_rows}
    own.update({(ctx.erp.system, r.native_id): r.global_id for r in erp_rows})
    paired: list[tuple[str, str, str]] = []
    for crm_id, erp_id in decisions.links:
        gid = own[ctx.crm.system, crm_id] or ""
        paired += [(ctx.crm.system, crm_id, gid), (ctx.erp.system, erp_id, gid)]
        rep.linked_by_match += 1
    taken = {(s, n) for s, n, _g in paired}
    with ctx.tx(ctx.unit(entity)) as tx:
        tx.inbox.assign(entity, paired)
        for item in decisions.reviews:
            keys = {(ctx.crm.system, item.crm_id), (ctx.erp.system, item.erp_id)}
            if keys & taken:
                continue
            taken |= keys
            gid = own[ctx.crm.system, item.crm_id] or ""
            conflict_id = tx.reviews.add_conflict(
                kind="match",
                entity=entity,
                global_id=gid,
                field="(match)",
                base=None,
                crm=item.crm_id,
                erp=item.erp_id,
                detail={"score": item.score, "explanation": [list(e) for e in item.explanation]},
            )
            for system, native_id in keys:
                row_gid = own[system, native_id] or ""
                tx.inbox.assign(entity, [(system, native_id, row_gid)], review=conflict_id)
            rep.sent_to_review += 1
