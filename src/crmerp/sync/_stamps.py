"""Stamped references: which ones this state may trust, and copies that kept one.

A reference the engine stamped on a record (``crmerp:<global id>@<tag>``) ties the
record to a global id only when this state knows that id: a link, or an open
intent of this state. Anything else is not trusted: the record is unlinked and
goes to matching. A stamp for another instance of the system is ignored; an
unknown one in the form that names this instance is kept as a *hint*: the record
is staged, still new, under that id, so the record of the other system whose own
id it is (the one it was made from: a state re-initialised over the same systems)
is paired with it before the matcher runs. A reference whose global id is already
linked to another record of the same system is a *copy*: the copy is held for
review, and nothing is written for it until a person settles it with ``resolve``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from crmerp.adapters import NativeRecord, global_id_of, stamped_for
from crmerp.adapters._records import names_instance
from crmerp.state import ConflictRecord, ConflictStatus, InboxRow, InboxStatus, StateTx
from crmerp.sync._context import RunContext, Side

__all__ = [
    "COPY_FIELD",
    "Copy",
    "Stamp",
    "hold_copies",
    "is_copy_review",
    "read_stamps",
    "settle_copy",
]

COPY_FIELD = "(copy)"
"""The ``field`` of a match review that holds a copy."""


@attrs.frozen
class Stamp:
    """A stamp read on an unlinked record: the global id it names.

    ``known``: this state knows the id (a link or an open intent), so the record is
    that id's. Otherwise the stamp is only a hint: the record stays new (it goes to
    matching) under that id, so the record of the other system whose own id it is
    (the record it was made from, on these two instances) falls in with it.
    ``copy_of`` is set when the id is already linked to another record of the same
    system (``partner``: the record of the other system linked to it, if any).
    """

    global_id: str
    known: bool = True
    copy_of: str | None = None
    partner: str | None = None


@attrs.frozen
class Copy:
    """A staged row of a copy, with the stamp that made it one."""

    row: InboxRow
    stamp: Stamp


def read_stamps(
    ctx: RunContext, tx: StateTx, entity: str, side: Side, records: Sequence[NativeRecord]
) -> dict[str, Stamp]:
    """native id -> what the stamp of each unlinked record says, where it says anything."""
    instance = side.instance
    stamped = {
        r.id: gid
        for r in records
        if stamped_for(r.reference, instance) and (gid := global_id_of(r.reference))
    }
    if not stamped:
        return {}
    linked = tx.links.by_global(entity, list(stamped.values()))
    unknown = [gid for gid in stamped.values() if gid not in linked]
    pending: set[str] = set()
    if unknown:
        pending = {i.global_id for i in tx.intents.open() if i.entity == entity}
    other = ctx.other(side)
    rejected: set[tuple[str, str]] | None = None
    found: dict[str, Stamp] = {}
    for native_id, gid in stamped.items():
        if gid in linked:
            mine = linked[gid].get(side.system)
            if mine is None or mine[0] == native_id:
                found[native_id] = Stamp(gid)
                continue
            partner = linked[gid].get(other.system)
            stamp = Stamp(gid, copy_of=mine[0], partner=partner[0] if partner else None)
            if rejected is None:
                rejected = tx.reviews.match_decisions(entity, "rejected")
            if _pair(side, native_id, stamp) not in rejected:
                found[native_id] = stamp
        elif gid in pending:
            found[native_id] = Stamp(gid)
    found.update(_hints(ctx, tx, entity, side, records, found))
    return found


def _hints(
    ctx: RunContext,
    tx: StateTx,
    entity: str,
    side: Side,
    records: Sequence[NativeRecord],
    trusted: Mapping[str, Stamp],
) -> dict[str, Stamp]:
    """Unknown stamps that name this instance: hints, one record per global id.

    Only a stamp in the form that names its instance is a hint: global ids name
    instances too, so its id is the own id of a record of the other instance it was
    made for, never of another instance's. Two records of this system with one
    hint (a copy, before either is linked) are left without it.
    """
    by_gid: dict[str, list[str]] = {}
    for r in records:
        if r.id not in trusted and names_instance(r.reference):
            gid = global_id_of(r.reference)
            assert gid is not None
            by_gid.setdefault(gid, []).append(r.id)
    if not by_gid:
        return {}
    staged = tx.inbox.staged_under(entity, side.system, list(by_gid))
    return {
        ids[0]: Stamp(gid, known=False)
        for gid, ids in by_gid.items()
        if len(ids) == 1 and staged.get(gid, ids[0]) == ids[0]
    }


def _pair(side: Side, native_id: str, stamp: Stamp) -> tuple[str, str]:
    partner = stamp.partner or ""
    return (native_id, partner) if side.name == "crm" else (partner, native_id)


def hold_copies(
    ctx: RunContext, tx: StateTx, entity: str, side: Side, copies: Sequence[Copy]
) -> list[InboxRow]:
    """Open a review for each copy (or keep the open one); the rows to stage, held."""
    held: list[InboxRow] = []
    for copy in copies:
        row, stamp = copy.row, copy.stamp
        crm_id, erp_id = _pair(side, row.native_id, stamp)
        assert row.global_id is not None
        conflict_id = tx.reviews.add_conflict(
            kind="match",
            entity=entity,
            global_id=row.global_id,
            field=COPY_FIELD,
            base=None,
            crm=crm_id or None,
            erp=erp_id or None,
            detail={
                "reason": f"copy: same reference as {stamp.copy_of}",
                "system": side.system,
                "copy": row.native_id,
                "original": stamp.copy_of,
                "global_id": stamp.global_id,
            },
        )
        note = f"match review {conflict_id}"
        held.append(attrs.evolve(row, note=note, status=InboxStatus.REVIEW))
        ctx.report.entity(entity).sent_to_review += 1
    return held


def settle_copy(tx: StateTx, conflict: ConflictRecord, pick: str) -> None:
    """Settle the review of a copy.

    ``pick="new"``: the copy is a record of its own; it keeps its own global id and
    is created on the other system. ``pick="link"``: the copy takes the original's
    place; the link moves to it, and the original is no longer linked.
    """
    detail = conflict.detail
    system, copy_id = str(detail["system"]), str(detail["copy"])
    crm_id = "" if conflict.crm is None else str(conflict.crm)
    erp_id = "" if conflict.erp is None else str(conflict.erp)
    if pick == "new":
        tx.inbox.assign(conflict.entity, [(system, copy_id, conflict.global_id)])
        tx.reviews.decide_match(conflict.entity, crm_id, erp_id, "rejected")
    else:
        gid = str(detail["global_id"])
        tx.links.drop(conflict.entity, system, [str(detail["original"])])
        tx.links.put([(conflict.entity, system, copy_id, gid, None)])
        tx.inbox.assign(conflict.entity, [(system, copy_id, gid)])
        tx.reviews.decide_match(conflict.entity, crm_id, erp_id, "confirmed")
    tx.reviews.set_conflict(conflict.id, ConflictStatus.APPLIED, {"pick": pick})


def is_copy_review(conflict: ConflictRecord) -> bool:
    """True for the review of a copy (see :func:`hold_copies`)."""
    return conflict.kind == "match" and conflict.field == COPY_FIELD
