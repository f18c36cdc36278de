"""Recovery: settle the writes a crashed run recorded but never committed.

An intent is recorded before its remote write and closed in the commit of its
outcome. One still pending at the start of a run was sent, or about to be, when
the run stopped: a create that reached the system is found by the reference
stamped on it and linked, so the next pass updates it instead of creating a
second one. Only the intents of units this run holds are settled.
"""

from __future__ import annotations

from collections.abc import Sequence

from crmerp.adapters import NativeRecord
from crmerp.state import IntentRow, IntentStatus
from crmerp.state._links import LinkRow
from crmerp.sync._context import RunContext, Side

__all__ = ["find_created", "recover"]


def recover(ctx: RunContext) -> int:
    """Settle the pending intents of the run's units; returns how many there were."""
    with ctx.tx() as tx:
        pending = tx.intents.open(list(ctx.tokens))
    if not pending:
        return 0
    links: list[LinkRow] = []
    for (system, entity), creates in _creates_by_target(pending).items():
        side = ctx.side_of(system)
        if side is None:
            continue
        found = find_created(ctx, side, entity, [i.reference for i in creates])
        for intent in creates:
            record = found.get(intent.reference)
            if record is not None:
                seen = intent.payload_hash or None
                links.append((entity, system, record.id, intent.global_id, seen))
    units = {intent.unit: ctx.unit(intent.entity) for intent in pending}
    with ctx.tx(*units.values()) as tx:
        tx.links.put(links)
        tx.intents.close([i.id for i in pending], IntentStatus.RECOVERED)
    return len(pending)


def _creates_by_target(pending: Sequence[IntentRow]) -> dict[tuple[str, str], list[IntentRow]]:
    grouped: dict[tuple[str, str], list[IntentRow]] = {}
    for intent in pending:
        if intent.kind == "create":
            grouped.setdefault((intent.system, intent.entity), []).append(intent)
    return grouped


def find_created(
    ctx: RunContext, side: Side, entity: str, references: list[str]
) -> dict[str, NativeRecord]:
    """The records of ``side`` carrying these stamped references, through the
    run's retry policy."""

    def call() -> dict[str, NativeRecord]:
        return side.adapter.find_by_reference(entity, references)

    found: dict[str, NativeRecord] = ctx.call(f"find {side.system} {entity}", call)
    return found
