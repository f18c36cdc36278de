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
from crmerp.sync._codec import deterministic_id
from crmerp.sync._context import RunContext

__all__ = ["REVIEW_NOTE", "link_new"]

REVIEW_NOTE = "review:"


def link_new(ctx: RunContext, entity: str) -> None:
    """Match new records of ``entity`` across the two systems."""
    if ctx.matcher is None:
        return
    with ctx.tx() as tx:
        counts = tx.new_counts(ctx.scope, entity)
    if not counts.get(ctx.crm.system) or not counts.get(ctx.erp.system):
        return
    with ctx.tx() as tx:
        crm_rows = [
            r
            for r in tx.new_rows(ctx.scope, entity, ctx.crm.system)
            if not (r.note or "").startswith(REVIEW_NOTE)
        ]
        erp_rows = [
            r
            for r in tx.new_rows(ctx.scope, entity, ctx.erp.system)
            if not (r.note or "").startswith(REVIEW_NOTE)
        ]
    if crm_rows and erp_rows:
        _match(ctx, entity, crm_rows, erp_rows)


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
        rejected = frozenset(tx.match_decisions(ctx.scope, entity, "rejected"))
    decisions = ctx.matcher.match(
        entity, _models(entity, crm_rows), _models(entity, erp_rows), rejected
    )
    rep = ctx.report.entity(entity)
    paired: list[tuple[str, str, str]] = []
    for crm_id, erp_id in decisions.links:
        gid = deterministic_id(ctx.scope, entity, ctx.crm.system, crm_id)
        paired += [(ctx.crm.system, crm_id, gid), (ctx.erp.system, erp_id, gid)]
        rep.linked_by_match += 1
    taken = {(s, n) for s, n, _g in paired}
    with ctx.tx(ctx.unit(entity)) as tx:
        tx.assign(ctx.scope, entity, paired)
        for item in decisions.reviews:
            keys = {(ctx.crm.system, item.crm_id), (ctx.erp.system, item.erp_id)}
            if keys & taken:
                continue
            taken |= keys
            gid = deterministic_id(ctx.scope, entity, ctx.crm.system, item.crm_id)
            conflict_id = tx.add_conflict(
                ctx.scope,
                kind="match",
                entity=entity,
                global_id=gid,
                field="(match)",
                base=None,
                crm=item.crm_id,
                erp=item.erp_id,
                detail={"score": item.score, "explanation": [list(e) for e in item.explanation]},
            )
            hold = f"{REVIEW_NOTE}{conflict_id}"
            for system, native_id in keys:
                own = deterministic_id(ctx.scope, entity, system, native_id)
                tx.assign(ctx.scope, entity, [(system, native_id, own)], note=hold)
            rep.sent_to_review += 1
