"""Commit: settle a batch's plans and answers into the state in one transaction.

A group whose writes all succeeded moves its links, base, audit and conflicts
and leaves the inbox; a group that waits keeps its staged rows with a note (and
its old base), so the next pass redoes exactly what is left; a record set aside
is quarantined with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmerp.adapters import WriteKind, WriteResult, WriteStatus
from crmerp.state import ConflictStatus, InboxRow, InboxStatus, StateTx
from crmerp.sync._codec import dumps, fingerprint
from crmerp.sync._context import ENGINE_SYSTEM, RunContext
from crmerp.sync._logging import log_conflict, log_quarantine, log_write
from crmerp.sync._merge import STILL_PARKED
from crmerp.sync._plan import GroupPlan, Op, SetAside
from crmerp.sync._report import EntityReport
from crmerp.sync._write import Sent

__all__ = ["commit"]

_AGREED_RULES = frozenset({"only-change", "same-change"})
"""Rules of fields a first sight takes without a choice (one side had a value,
or both the same one): not worth an audit line each."""

LinkRow = tuple[str, str, str, str, str | None, str | None]
"""(entity, system, native id, global id, hash of what that side holds, raw hash of
the payload it was read from)."""


def _raw_of(staged: Mapping[str, InboxRow], system: str, seen_hash: str | None) -> str | None:
    """The raw hash of what ``system`` holds, when the hash seen is that of its
    staged row (a record fetched fresh was not hashed: None)."""
    row = staged.get(system)
    if row is None or row.data is None or row.raw_hash is None:
        return None
    return row.raw_hash if fingerprint(row.data) == seen_hash else None


@attrs.define
class _Changes:
    """Everything one batch commits, gathered so each kind is one statement."""

    links: list[LinkRow] = attrs.Factory(list)
    drop_links: list[tuple[str, str]] = attrs.Factory(list)
    bases: list[tuple[str, str, str]] = attrs.Factory(list)
    drop_bases: list[str] = attrs.Factory(list)
    unstage: list[tuple[str, str]] = attrs.Factory(list)
    defer: list[tuple[str, str, str, InboxStatus]] = attrs.Factory(list)
    derived: list[InboxRow] = attrs.Factory(list)
    audit: list[dict[str, Any]] = attrs.Factory(list)
    conflicts: list[dict[str, Any]] = attrs.Factory(list)
    settled: list[int] = attrs.Factory(list)
    quarantine: list[dict[str, Any]] = attrs.Factory(list)

    def flush(self, tx: StateTx, entity: str, run_id: str) -> None:
        for system, native_id in self.drop_links:
            tx.links.drop(entity, system, [native_id])
        # A record's link can be gathered twice (seen, and as the side it came
        # from); upserts of one key apply in order, so the last one is all that counts.
        tx.links.put(list({link[:3]: link for link in self.links}.values()))
        if self.drop_bases:
            tx.bases.drop(entity, self.drop_bases)
        tx.bases.put(entity, self.bases)
        tx.inbox.unstage(entity, self.unstage)
        waiting: dict[tuple[str, InboxStatus], list[tuple[str, str]]] = {}
        for system, native_id, note, status in self.defer:
            waiting.setdefault((note, status), []).append((system, native_id))
        for (note, status), keys in waiting.items():
            tx.inbox.defer(entity, keys, note, status)
        if self.derived:
            tx.inbox.stage(self.derived)
        tx.log.audit(run_id, self.audit)
        for conflict_id in self.settled:
            tx.reviews.set_conflict(conflict_id, ConflictStatus.APPLIED)
        for conflict in self.conflicts:
            tx.reviews.add_conflict(**conflict)
        tx.reviews.quarantine(self.quarantine)


def commit(
    ctx: RunContext,
    entity: str,
    plans: Sequence[GroupPlan],
    rows: Sequence[Mapping[str, InboxRow]],
    sent: Sent,
) -> None:
    """Settle every plan (with the staged rows of its group) in one transaction."""
    settle = _Settle(ctx, entity)
    for plan, staged in zip(plans, rows, strict=True):
        settle.group(plan, staged, sent)
    with ctx.tx(ctx.unit(entity)) as tx:
        settle.changes.flush(tx, entity, ctx.run_id)
        tx.inbox.stage(list(sent.restage))
        tx.intents.close(list(sent.intent_ids))
    ctx.boundary("state.commit")
    ctx.progress(entity, "apply", len(plans))


class _Settle:
    """Turns plans and answers into the batch's state changes and report counts."""

    def __init__(self, ctx: RunContext, entity: str) -> None:
        self.ctx = ctx
        self.entity = entity
        self.rep: EntityReport = ctx.report.entity(entity)
        self.changes = _Changes()

    def group(self, plan: GroupPlan, staged: Mapping[str, InboxRow], sent: Sent) -> None:
        bad = sent.unreadable.get(plan.gid) or (plan.hold.set_aside if plan.hold else None)
        if bad is not None:
            self._set_aside(bad, staged, plan.hold.note if plan.hold else bad.reason)
            return
        if plan.hold is not None:
            status = InboxStatus.FAILED if plan.hold.failed else InboxStatus.PENDING
            self._defer(staged, plan.hold.note, status)
        elif plan.gid in sent.changed:
            self._defer(staged, sent.changed[plan.gid], InboxStatus.PENDING)
        else:
            waiting = self._answers(plan, sent)
            if waiting is None:
                self._applied(plan, staged)
            else:
                self._defer(staged, *waiting)

    def _defer(self, staged: Mapping[str, InboxRow], note: str, status: InboxStatus) -> None:
        self.rep.deferred += 1
        self.changes.defer.extend((s, r.native_id, note, status) for s, r in staged.items())

    def _answers(self, plan: GroupPlan, sent: Sent) -> tuple[str, InboxStatus] | None:
        """``None`` when every write of ``plan`` was done, else how its changes wait."""
        waiting = None
        for index, op in enumerate(plan.ops):
            problem = self._record(plan, op, sent.results.get((plan.gid, index)))
            waiting = waiting or problem
        return waiting

    def _record(
        self, plan: GroupPlan, op: Op, result: WriteResult | None
    ) -> tuple[str, InboxStatus] | None:
        side_rep = self.rep.side(op.side.name)
        if result is None or result.status is WriteStatus.RETRY:
            side_rep.retried += 1
            return f"retry: {result.reason if result else 'not sent'}", InboxStatus.PENDING
        if result.status is WriteStatus.STALE:
            # Nothing was written; the record was re-read and staged again (see
            # the write stage), so the next pass merges the edit that made it stale.
            side_rep.stale += 1
            reason = f"stale: {op.side.system}: {result.reason}; re-merging"
            return reason, InboxStatus.PENDING
        if result.status is WriteStatus.FAILED:
            side_rep.failed += 1
            side_rep.quarantined += 1
            log_quarantine(
                self.ctx,
                self.entity,
                op.side.system,
                op.native_id or plan.gid,
                None,
                f"write refused: {result.reason}",
            )
            self.changes.quarantine.append(
                {
                    "entity": self.entity,
                    "system": op.side.system,
                    "native_id": op.native_id or plan.gid,
                    "field": None,
                    "reason": f"write refused: {result.reason}",
                    "payload": json.dumps(op.payload, default=str, sort_keys=True),
                }
            )
            return f"{op.side.system}: {result.reason}", InboxStatus.FAILED
        log_write(self.ctx, self.entity, op.side.system, op.kind.value, result.native_id, plan.gid)
        if op.kind is WriteKind.DELETE:
            side_rep.deleted += 1
            return None
        if op.kind is WriteKind.CREATE:
            side_rep.created += 1
        else:
            side_rep.updated += 1
        assert result.native_id is not None
        # The write changed the native payload: its raw hash is unknown until read.
        self.changes.links.append(
            (self.entity, op.side.system, result.native_id, plan.gid, op.seen_hash, None)
        )
        return None

    def _set_aside(self, bad: SetAside, staged: Mapping[str, InboxRow], note: str) -> None:
        side = self.ctx.side_of(bad.system)
        if side is not None:
            self.rep.side(side.name).quarantined += 1
        log_quarantine(self.ctx, self.entity, bad.system, bad.native_id, bad.field, bad.reason)
        self.changes.quarantine.append(
            {
                "entity": self.entity,
                "system": bad.system,
                "native_id": bad.native_id,
                "field": bad.field,
                "reason": bad.reason,
                "payload": None,
            }
        )
        self.changes.unstage.append((bad.system, bad.native_id))
        self.changes.defer.extend(
            (s, r.native_id, note, InboxStatus.FAILED) for s, r in staged.items() if s != bad.system
        )

    def _applied(self, plan: GroupPlan, staged: Mapping[str, InboxRow]) -> None:
        changes = self.changes
        entity = self.entity
        changes.drop_links.extend(plan.drop_links)
        for seen in plan.seen:
            raw = _raw_of(staged, seen.system, seen.seen_hash)
            changes.links.append(
                (entity, seen.system, seen.native_id, plan.gid, seen.seen_hash, raw)
            )
        written = {op.side.system for op in plan.ops}
        for system, row in staged.items():
            if (
                system != ENGINE_SYSTEM
                and row.data is not None
                and not row.deleted
                and system not in written
            ):
                text_hash = fingerprint(row.data)
                changes.links.append(
                    (entity, system, row.native_id, plan.gid, text_hash, row.raw_hash)
                )
        if plan.drop_base:
            changes.drop_bases.append(plan.gid)
        elif plan.new_base is not None:
            text = dumps(plan.new_base)
            changes.bases.append((plan.gid, text, fingerprint(text)))
        changes.unstage.extend((s, r.native_id) for s, r in staged.items())
        changes.derived.extend(plan.derived)
        self.rep.derived += len(plan.derived)
        self._outcome(plan, staged)

    def _outcome(self, plan: GroupPlan, staged: Mapping[str, InboxRow]) -> None:
        outcome = plan.outcome
        self.changes.settled.extend(plan.settle)
        self.rep.conflicts_settled += len(plan.settle)
        if outcome is None:
            return
        self.rep.merged += 1
        if plan.first_seen:
            self._first_seen(plan, staged)
        else:
            self.changes.audit.extend(
                {
                    "entity": self.entity,
                    "global_id": plan.gid,
                    "field": c.field,
                    "old": json.dumps(c.old, default=str),
                    "new": json.dumps(c.new, default=str),
                    "origin": c.origin,
                    "rule": c.rule,
                }
                for c in outcome.changes
            )
        for change in outcome.changes:
            if change.rule.startswith(("owner", "latest", "function")):
                counts = self.rep.conflicts_resolved_by_rule
                counts[change.rule] = counts.get(change.rule, 0) + 1
        for conflict in outcome.conflicts:
            self.changes.conflicts.append(
                {
                    "kind": "field",
                    "entity": self.entity,
                    "global_id": plan.gid,
                    "field": conflict.field,
                    "base": conflict.base,
                    "crm": conflict.crm,
                    "erp": conflict.erp,
                    "detail": {"reason": conflict.reason},
                }
            )
            if conflict.reason != STILL_PARKED:
                self.rep.conflicts_parked += 1
                log_conflict(self.ctx, self.entity, plan.gid, conflict.field, conflict.reason)

    def _first_seen(self, plan: GroupPlan, staged: Mapping[str, InboxRow]) -> None:
        """One audit row for a record merged without a base: where it came from;
        and one per field the two sides held apart, with the rule that chose."""
        assert plan.outcome is not None
        sides = {side.name for side in self.ctx.sides() if side.system in staged}
        origins = sorted({c.origin for c in plan.outcome.changes} | sides) or ["engine"]
        self.changes.audit.append(
            {
                "entity": self.entity,
                "global_id": plan.gid,
                "field": "*",
                "old": None,
                "new": None,
                "origin": "+".join(origins),
                "rule": "first-seen",
            }
        )
        self.changes.audit.extend(
            {
                "entity": self.entity,
                "global_id": plan.gid,
                "field": c.field,
                "old": json.dumps(c.old, default=str),
                "new": json.dumps(c.new, default=str),
                "origin": c.origin,
                "rule": c.rule,
            }
            for c in plan.outcome.changes
            if c.rule not in _AGREED_RULES
        )
