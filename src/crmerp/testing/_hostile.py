"""The fault kinds of real systems, over the adapter contract's values.

Both the fakes and :class:`~crmerp.testing.FaultyAdapter` call these with the
:class:`~crmerp.testing.FaultPlan` in force, so a kind behaves the same on a fake
and around any adapter. Each function decides with the plan's seeded choices and
counts what it injected in ``plan.injected``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs

from crmerp._errors import TransientError
from crmerp.adapters import NativeRecord, Page, WriteKind, WriteOp, WriteResult, WriteStatus
from crmerp.testing._faults import FaultPlan

__all__ = [
    "batch_cut",
    "dropped_mid_batch",
    "normalise_payload",
    "normalised",
    "note_written",
    "refused_stale",
    "shape_page",
    "unseen_dropped",
    "visible",
    "visible_found",
]

NAME_LIMIT = 40
"""Characters a normalising system keeps of a text (``normalise``)."""

_PHONE = re.compile(r"^\+?[\d ()\-/]{6,}$")


def normalise_payload(value: Any) -> Any:
    """What a normalising system keeps of a written payload: amounts with more than
    two decimals rounded to two, texts cut at 40 characters, e-mail addresses
    lower-cased, phone numbers without spaces, dashes or brackets."""
    if isinstance(value, Mapping):
        return {k: normalise_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_payload(v) for v in value]
    if isinstance(value, Decimal) and value.as_tuple().exponent < -2:  # type: ignore[operator]
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    if not isinstance(value, str):
        return value
    if "@" in value:
        return value.lower()
    if _PHONE.match(value) and any(c in value for c in " ()-/"):
        return re.sub(r"[ ()\-/]", "", value)
    return value[:NAME_LIMIT]


# --- change feeds -----------------------------------------------------------------------


def shape_page(plan: FaultPlan, entity: str, cursor: str | None, page: Page) -> Page:
    """The page as a misbehaving change feed answers it: records held back from an
    earlier read delivered late (with their old stamps and versions), records
    skipped, repeated or reordered, ``more`` cut short, an older cursor."""
    history = plan.cursors.setdefault(entity, [])
    if cursor not in history:
        history.append(cursor)
    records = list(page.records)
    late = plan.held.pop(entity, [])
    if records and plan.fires("feed_late", "read"):
        plan.held[entity] = [records.pop(plan.draw(len(records)))]
    if records and plan.fires("feed_skip", "read"):
        records.pop(plan.draw(len(records)))
    records.extend(late)
    if records and plan.fires("feed_duplicate", "read"):
        at = plan.draw(len(records))
        records.insert(at + 1 + plan.draw(len(records) - at), records[at])
    if len(records) > 1 and plan.fires("feed_reorder", "read"):
        plan.shuffle(records)
    more = page.more and not plan.fires("feed_short", "read")
    return Page(records, _cursor_after(plan, history, cursor, page.cursor), more)


def _cursor_after(
    plan: FaultPlan, history: list[str | None], cursor: str | None, answer: str | None
) -> str | None:
    older = [c for c in history if c != cursor]
    if older and plan.fires("cursor_back", "read"):
        return older[plan.draw(len(older))]
    return answer


# --- writes -------------------------------------------------------------------------------


def batch_cut(plan: FaultPlan, ops: Sequence[WriteOp]) -> int | None:
    """How many ops of the batch are applied before the connection drops
    (``partial_apply``), or ``None``: the batch is answered normally."""
    if not ops or not plan.fires("partial_apply", "write"):
        return None
    return 1 + plan.draw(len(ops) - 1) if len(ops) > 1 else plan.draw(2)


def dropped_mid_batch(system: str, applied: int, total: int) -> TransientError:
    """The error of a connection dropped after ``applied`` of ``total`` records."""
    return TransientError(
        f"{system} write: connection dropped mid-batch, no answer "
        f"(injected; {applied} of {total} records applied)"
    )


def normalised(plan: FaultPlan, op: WriteOp) -> WriteOp:
    """``op`` as the system will keep it (``normalise``)."""
    if op.payload is None or not plan.fires("normalise", "write"):
        return op
    rewrite = plan.normalise_with or normalise_payload
    return attrs.evolve(op, payload=rewrite(dict(op.payload)))


def refused_stale(plan: FaultPlan, op: WriteOp) -> WriteResult | None:
    """A stale answer to a conditional write that nothing made stale (an ETag the
    system thinks changed), or ``None``."""
    if op.kind is WriteKind.CREATE or op.expected_version is None:
        return None
    if not plan.fires("stale_answer", "write"):
        return None
    return WriteResult.stale(f"{op.native_id}: version mismatch (injected)")


def note_written(
    plan: FaultPlan, entity: str, ops: Sequence[WriteOp], results: Sequence[WriteResult]
) -> None:
    """Hide records just created from ``fetch`` and ``find_by_reference`` for
    ``plan.lag_calls`` calls (``read_lag``)."""
    for op, result in zip(ops, results, strict=False):
        if op.kind is not WriteKind.CREATE or result.status is not WriteStatus.DONE:
            continue
        if plan.fires("read_lag", "write"):
            plan.hidden[(entity, str(result.native_id))] = plan.lag_calls
            plan.hidden[(entity, op.reference)] = plan.lag_calls


def visible(plan: FaultPlan, entity: str, records: list[NativeRecord]) -> list[NativeRecord]:
    """The fetched records a lagging replica already has."""
    shown = [r for r in records if (entity, r.id) not in plan.hidden]
    unseen_dropped(plan)
    return shown


def visible_found(
    plan: FaultPlan, entity: str, found: Mapping[str, NativeRecord]
) -> dict[str, NativeRecord]:
    """The records found by reference that a lagging replica already has."""
    shown = {
        ref: r
        for ref, r in found.items()
        if (entity, ref) not in plan.hidden and (entity, r.id) not in plan.hidden
    }
    unseen_dropped(plan)
    return shown


def unseen_dropped(plan: FaultPlan) -> None:
    """Count one read call against every hidden record; show the ones it was the last for."""
    for key in list(plan.hidden):
        plan.hidden[key] -= 1
        if plan.hidden[key] <= 0:
            del plan.hidden[key]
