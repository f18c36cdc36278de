"""Pull: read each side's changes since its cursor and stage them durably."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

from crmerp._errors import AdapterError, DataError
from crmerp.adapters import NativeRecord, Page, global_id_of
from crmerp.state import InboxRow
from crmerp.sync._codec import deterministic_id, dumps, fingerprint, project
from crmerp.sync._context import RunContext, Side
from crmerp.sync._linking import REVIEW_NOTE
from crmerp.sync._raw import raw_hash, raw_salt

__all__ = ["pull"]


def pull(ctx: RunContext, entity: str, side: Side, *, full: bool) -> None:
    """Stage every change of ``entity`` on ``side`` after its committed cursor.

    Each page is staged and its cursor committed in one transaction, so a crash
    re-reads at most one page and never skips one. ``full`` reads from the start
    and, once the read completes, finds deletes by comparing ids with the links.
    """
    rep = ctx.report.entity(entity).side(side.name)
    with ctx.tx() as tx:
        stored = tx.cursor(ctx.scope, side.system, entity)
    rep.cursor_before = stored
    feed = side.caps.change_feed
    start = None if full else stored
    seen: set[str] | None = set() if start is None and (full or not feed) else None
    cursor = start
    # The signpost marks "now" at the start of the read: changes made after it are
    # left for the next run, so a read of a busy system ends.
    signpost = side.adapter.signpost(entity) if feed and _takes_signpost(side.adapter) else None
    while True:
        page = _read(ctx, entity, side, cursor, signpost)
        ctx.boundary("page.read")
        staged, bad, hashed = _translate(ctx, entity, side, page.records, seen, skip=not full)
        ctx.boundary("translate")
        keep = page.cursor if (page.more or feed) else None
        with ctx.tx() as tx:
            tx.stage(ctx.scope, staged, hold_prefix=REVIEW_NOTE)
            tx.put_raw_hashes(ctx.scope, entity, side.system, hashed)
            tx.quarantine(ctx.scope, bad)
            tx.release(ctx.scope, entity, side.system, [r.native_id for r in staged])
            tx.set_cursor(ctx.scope, side.system, entity, keep)
            if ctx.worker_id and not ctx.dry:
                tx.acquire_lease(ctx.scope, ctx.worker_id, ctx.lease_ttl)
        ctx.boundary("state.commit")
        rep.cursor_after = keep
        ctx.progress(entity, f"read {side.name}", len(page.records))
        if not page.more:
            break
        if page.cursor == cursor:
            raise AdapterError(f"{side.system} {entity} read does not advance its cursor")
        cursor = page.cursor
    if seen is not None:
        _stage_vanished(ctx, entity, side, seen)


def _takes_signpost(adapter: object) -> bool:
    try:
        parameters = inspect.signature(adapter.read_page).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False
    return "signpost" in parameters


def _read(
    ctx: RunContext, entity: str, side: Side, cursor: str | None, signpost: str | None
) -> Page:
    def call() -> Page:
        if signpost is not None:
            return side.adapter.read_page(  # type: ignore[call-arg]
                entity, cursor, limit=side.caps.page_size, signpost=signpost
            )
        return side.adapter.read_page(entity, cursor, limit=side.caps.page_size)

    page: Page = ctx.call(f"read {side.system} {entity}", call)
    return page


def _translate(
    ctx: RunContext,
    entity: str,
    side: Side,
    records: Sequence[NativeRecord],
    seen: set[str] | None,
    *,
    skip: bool = True,
) -> tuple[list[InboxRow], list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Validate and stage what changed; also ``(native id, seen hash, raw hash)``
    of linked records found unchanged whose link lacks that raw hash.

    A record whose raw hash is the one its link keeps is the payload last read:
    it stops before validation (``skip=False``, for a reconcile, validates all).
    """
    rep = ctx.report.entity(entity)
    side_rep = rep.side(side.name)
    mapping = side.adapter.mapping(entity)
    carried = mapping.carried
    salt = raw_salt(side.adapter, entity, carried)
    with ctx.tx() as tx:
        known = tx.links_read(ctx.scope, entity, side.system, [r.id for r in records])
    staged: list[InboxRow] = []
    bad: list[dict[str, Any]] = []
    hashed: list[tuple[str, str, str]] = []
    for record in records:
        side_rep.pulled += 1
        if seen is not None:
            seen.add(record.id)
        link = known.get(record.id)
        raw = raw_hash(record, salt)
        if skip and link is not None and raw is not None and link[2] == raw:
            _note_unknown(rep, side, mapping.unknown_keys(record.payload))
            if side.caps.change_feed:
                side_rep.echoes += 1
            else:
                side_rep.unchanged += 1
            continue
        global_id = link[0] if link else global_id_of(record.reference)
        new = global_id is None
        if global_id is None:
            global_id = deterministic_id(ctx.scope, entity, side.system, record.id)
        if record.deleted:
            # Staged even without a link: it cancels a live version of the record
            # staged earlier (on an earlier page, or by a run whose write failed).
            staged.append(
                InboxRow(
                    entity, side.system, record.id, global_id, None, record.stamp, deleted=True
                )
            )
            continue
        try:
            model = side.adapter.to_canonical(entity, record)
        except DataError as exc:
            side_rep.quarantined += 1
            bad.append(_quarantine_row(entity, side, record, exc))
            continue
        _note_unknown(rep, side, mapping.unknown_keys(record.payload))
        text = dumps(project(model, carried))
        if link is not None and link[1] == fingerprint(text):
            if raw is not None and link[2] != raw:
                hashed.append((record.id, link[1], raw))
            if side.caps.change_feed:
                side_rep.echoes += 1
            else:
                side_rep.unchanged += 1
            continue
        side_rep.staged += 1
        staged.append(
            InboxRow(
                entity, side.system, record.id, global_id, text, record.stamp, new=new, raw_hash=raw
            )
        )
    return staged, bad, hashed


def _note_unknown(rep: Any, side: Side, unknown: set[str]) -> None:
    if unknown:
        known_list = rep.unknown_native_fields.setdefault(side.name, [])
        known_list.extend(sorted(unknown - set(known_list)))


def _quarantine_row(
    entity: str, side: Side, record: NativeRecord, exc: DataError
) -> dict[str, Any]:
    return {
        "entity": entity,
        "system": side.system,
        "native_id": record.id,
        "field": exc.field,
        "reason": str(exc),
        "payload": json.dumps(dict(record.payload), default=str, sort_keys=True)[:100_000],
    }


def _stage_vanished(ctx: RunContext, entity: str, side: Side, seen: set[str]) -> None:
    """After a complete read, linked records the read did not return were deleted."""
    with ctx.tx() as tx:
        gone = [
            nid for nid in tx.iter_native_ids(ctx.scope, entity, side.system) if nid not in seen
        ]
        if not gone:
            return
        links = tx.links_by_native(ctx.scope, entity, side.system, gone)
        tx.stage(
            ctx.scope,
            [
                InboxRow(entity, side.system, nid, links[nid][0], None, None, deleted=True)
                for nid in gone
                if nid in links
            ],
        )
