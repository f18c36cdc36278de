"""Link: give every staged record a global id, matching new records across systems."""

from __future__ import annotations

import json

from crmerp.models import ENTITY_MODELS, CanonicalModel
from crmerp.state import InboxRow
from crmerp.sync._codec import deterministic_id
from crmerp.sync._context import RunContext

__all__ = ["REVIEW_NOTE", "link_new"]

REVIEW_NOTE = "review:"


def link_new(ctx: RunContext, entity: str) -> None:
    """Assign global ids to staged records that have none.

    Records on both sides that the matcher pairs share one global id (derived from
    the CRM record, so a rerun gives the same id); pairs in the review band are
    held back as match conflicts; every other record gets its own deterministic id.
    """
    with ctx.tx() as tx:
        rows = [r for r in tx.unlinked(ctx.scope, entity)
                if not (r.note or "").startswith(REVIEW_NOTE)]
    if not rows:
        return
    by_system: dict[str, list[InboxRow]] = {}
    for row in rows:
        by_system.setdefault(row.system, []).append(row)
    crm_rows = by_system.get(ctx.crm.system, [])
    erp_rows = by_system.get(ctx.erp.system, [])
    assigned: list[tuple[str, str, str]] = []
    held: set[tuple[str, str]] = set()
    if ctx.matcher is not None and crm_rows and erp_rows and not all(r.deleted for r in rows):
        assigned, held = _match(ctx, entity, crm_rows, erp_rows)
    paired = {(s, n) for s, n, _ in assigned} | held
    for row in rows:
        if (row.system, row.native_id) not in paired:
            gid = deterministic_id(ctx.scope, entity, row.system, row.native_id)
            assigned.append((row.system, row.native_id, gid))
    with ctx.tx() as tx:
        tx.assign(ctx.scope, entity, assigned)


def _models(entity: str, rows: list[InboxRow]) -> list[CanonicalModel]:
    model = ENTITY_MODELS[entity]
    out = []
    for row in rows:
        if row.data is None or row.deleted:
            continue
        out.append(model.model_validate({**json.loads(row.data), "id": row.native_id}))
    return out


def _match(
    ctx: RunContext, entity: str, crm_rows: list[InboxRow], erp_rows: list[InboxRow]
) -> tuple[list[tuple[str, str, str]], set[tuple[str, str]]]:
    assert ctx.matcher is not None
    with ctx.tx() as tx:
        rejected = frozenset(tx.match_decisions(ctx.scope, entity, "rejected"))
    decisions = ctx.matcher.match(entity, _models(entity, crm_rows), _models(entity, erp_rows),
                                  rejected)
    rep = ctx.report.entity(entity)
    assigned: list[tuple[str, str, str]] = []
    for crm_id, erp_id in decisions.links:
        gid = deterministic_id(ctx.scope, entity, ctx.crm.system, crm_id)
        assigned += [(ctx.crm.system, crm_id, gid), (ctx.erp.system, erp_id, gid)]
        rep.linked_by_match += 1
    held: set[tuple[str, str]] = set()
    linked = {(s, n) for s, n, _ in assigned}
    with ctx.tx() as tx:
        for item in decisions.reviews:
            keys = {(ctx.crm.system, item.crm_id), (ctx.erp.system, item.erp_id)}
            if keys & (linked | held):
                continue
            gid = deterministic_id(ctx.scope, entity, ctx.crm.system, item.crm_id)
            conflict_id = tx.add_conflict(
                ctx.scope, kind="match", entity=entity, global_id=gid, field="(match)",
                base=None, crm=item.crm_id, erp=item.erp_id,
                detail={"score": item.score, "explanation": [list(e) for e in item.explanation]},
            )
            note = f"{REVIEW_NOTE}{conflict_id}"
            tx.assign(ctx.scope, entity, [(ctx.crm.system, item.crm_id, None)],  # type: ignore[list-item]
                      note=note)
            tx.assign(ctx.scope, entity, [(ctx.erp.system, item.erp_id, None)],  # type: ignore[list-item]
                      note=note)
            held |= keys
            rep.sent_to_review += 1
    return assigned, held
