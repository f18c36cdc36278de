"""Pull: read each side's changes since its cursor and stage them durably."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from crmerp._errors import AdapterError
from crmerp.adapters import NativeRecord, Page
from crmerp.state import InboxRow
from crmerp.sync._context import RunContext, Side
from crmerp.sync._logging import log_quarantine
from crmerp.sync._stamps import hold_copies
from crmerp.sync._translate import translate

__all__ = ["latest_copies", "pull", "pull_ids"]


def pull(ctx: RunContext, entity: str, side: Side, *, full: bool) -> None:
    """Stage every change of ``entity`` on ``side`` after its committed cursor.

    Each page is staged and its cursor committed in one transaction, so a crash
    re-reads at most one page and never skips one. ``full`` reads from the start
    and, once the read completes, finds deletes by comparing ids with the links.
    """
    rep = ctx.report.entity(entity).side(side.name)
    with ctx.tx() as tx:
        stored = tx.cursors.get(side.system, entity)
    rep.cursor_before = stored
    feed = side.caps.change_feed
    start = None if full else stored
    seen: set[str] | None = set() if start is None and (full or not feed) else None
    cursor = start
    # The signpost marks "now" at the start of the read: changes made after it are
    # left for the next run, so a read of a busy system ends.
    signpost = _signpost(ctx, entity, side) if feed and _takes_signpost(side.adapter) else None
    while True:
        page = _read(ctx, entity, side, cursor, signpost)
        ctx.boundary("page.read")
        page_rows = translate(ctx, entity, side, latest_copies(page.records), seen, skip=not full)
        ctx.boundary("translate")
        keep = page.cursor if (page.more or feed) else None
        with ctx.tx(ctx.unit(entity)) as tx:
            staged = [*page_rows.staged, *hold_copies(ctx, tx, entity, side, page_rows.copies)]
            tx.inbox.stage(staged, keep_reviews=True)
            tx.links.put_raw_hashes(entity, side.system, page_rows.hashed)
            tx.reviews.quarantine(page_rows.bad)
            tx.reviews.release(entity, side.system, [r.native_id for r in staged])
            tx.cursors.set(side.system, entity, keep)
        ctx.boundary("state.commit")
        for bad in page_rows.bad:
            log_quarantine(
                ctx, entity, side.system, str(bad["native_id"]), bad.get("field"), bad["reason"]
            )
        rep.cursor_after = keep
        ctx.progress(entity, f"read {side.name}", len(page.records))
        if not page.more:
            break
        if page.cursor == cursor:
            raise AdapterError(f"{side.system} {entity} read does not advance its cursor")
        cursor = page.cursor
    if seen is not None:
        _stage_vanished(ctx, entity, side, seen)


def pull_ids(ctx: RunContext, entity: str, side: Side, ids: Sequence[str]) -> None:
    """Stage the records ``ids`` of a side that has no change feed, fetched by id
    instead of a full read (an event named them). An id the system no longer has
    is staged as deleted when it is linked. The cursor does not move: the next
    full read still compares everything."""
    wanted = list(dict.fromkeys(ids))
    rep = ctx.report.entity(entity).side(side.name)
    with ctx.tx() as tx:
        rep.cursor_before = rep.cursor_after = tx.cursors.get(side.system, entity)

    def call() -> list[NativeRecord]:
        return side.adapter.fetch(entity, wanted)

    records: list[NativeRecord] = ctx.call(f"fetch {side.system} {entity}", call)
    ctx.boundary("page.read")
    rows = translate(ctx, entity, side, records, None, skip=True)
    ctx.boundary("translate")
    found = {r.id for r in records}
    with ctx.tx(ctx.unit(entity)) as tx:
        gone = tx.links.by_native(entity, side.system, [i for i in wanted if i not in found])
        vanished = [
            InboxRow(entity, side.system, nid, gid, None, None, deleted=True)
            for nid, (gid, _) in gone.items()
        ]
        staged = [*rows.staged, *hold_copies(ctx, tx, entity, side, rows.copies), *vanished]
        tx.inbox.stage(staged, keep_reviews=True)
        tx.links.put_raw_hashes(entity, side.system, rows.hashed)
        tx.reviews.quarantine(rows.bad)
        tx.reviews.release(entity, side.system, [r.native_id for r in staged])
    ctx.boundary("state.commit")
    for bad in rows.bad:
        log_quarantine(
            ctx, entity, side.system, str(bad["native_id"]), bad.get("field"), bad["reason"]
        )
    ctx.progress(entity, f"fetch {side.name}", len(records))


def latest_copies(records: Sequence[NativeRecord]) -> list[NativeRecord]:
    """One copy of each record of a page: the one with the latest stamp, or the
    last one where stamps are equal or missing.

    A feed may return a record twice in a page (a repeat, or a copy committed
    late with its older stamp next to a newer one): staging the older last would
    undo the newer edit.
    """
    chosen: dict[str, NativeRecord] = {}
    for record in records:
        held = chosen.get(record.id)
        if held is None or not _older(record, held):
            chosen.pop(record.id, None)
            chosen[record.id] = record
    return list(chosen.values())


def _older(record: NativeRecord, than: NativeRecord) -> bool:
    return record.stamp is not None and than.stamp is not None and record.stamp < than.stamp


def _takes_signpost(adapter: object) -> bool:
    try:
        parameters = inspect.signature(adapter.read_page).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False
    return "signpost" in parameters


def _signpost(ctx: RunContext, entity: str, side: Side) -> str | None:
    def call() -> str | None:
        return side.adapter.signpost(entity)

    found: str | None = ctx.call(f"signpost {side.system} {entity}", call)
    return found


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


def _stage_vanished(ctx: RunContext, entity: str, side: Side, seen: set[str]) -> None:
    """After a complete read, linked records the read did not return were deleted."""
    with ctx.tx(ctx.unit(entity)) as tx:
        gone = [nid for nid in tx.links.native_ids(entity, side.system) if nid not in seen]
        if not gone:
            return
        links = tx.links.by_native(entity, side.system, gone)
        tx.inbox.stage(
            [
                InboxRow(entity, side.system, nid, links[nid][0], None, None, deleted=True)
                for nid in gone
                if nid in links
            ],
        )
