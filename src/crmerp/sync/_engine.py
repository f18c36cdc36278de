"""The sync engine: pull, link, merge, write and commit, entity by entity."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crmerp._errors import FatalError, LeaseHeld, RetryBudgetExceeded, UsageError
from crmerp.adapters import ENTITIES, Adapter
from crmerp.match import Matcher, default_matcher
from crmerp.state import ConflictRecord, InboxRow, QuarantineRecord, StateStore
from crmerp.sync._apply import ENGINE_SYSTEM, FAILED_NOTE, apply
from crmerp.sync._codec import deterministic_id
from crmerp.sync._context import RunContext, Side
from crmerp.sync._linking import link_new
from crmerp.sync._pull import pull
from crmerp.sync._report import SyncReport
from crmerp.sync._retry import Retrier, RetryPolicy
from crmerp.sync._rules import Rules

__all__ = ["SyncEngine"]

_UNSET: Any = object()


def _no_boundary(_name: str) -> None:
    return None


def _no_progress(_entity: str, _step: str, _count: int) -> None:
    return None


class SyncEngine:
    """Keeps one CRM and one ERP in agreement through a durable state.

    >>> from crmerp.sync import SyncEngine            # doctest: +SKIP
    >>> engine = SyncEngine(crm=crm_adapter, erp=erp_adapter,
    ...                     state=open_state("sqlite:///sync.db", create=True))
    >>> report = engine.run()                          # doctest: +SKIP

    ``worker_id`` names this worker in the scope's lease; give a service a stable one
    so that after a crash it resumes its own lease at once (a lease left by a dead
    process on the same host is also taken over). Another live worker on the same
    scope stops with :class:`~crmerp.LeaseHeld`.

    ``matcher`` pairs new records across the systems before anything is created
    (default: :func:`~crmerp.match.default_matcher`: customers probabilistically,
    where sure pairs link, likely ones go to review and the rest are created;
    products by SKU or GTIN. Pass ``None`` to never match, or
    :class:`~crmerp.match.ExactKeyMatcher` to link on shared keys only).

    ``boundary`` is called with the name of each step boundary (``page.read``,
    ``translate``, ``merge``, ``intent.recorded``, ``write.sent``, ``write.answered``,
    ``state.commit``):
    tests use it to crash the engine at every step. ``progress`` receives
    ``(entity, step, count)`` as work is done.
    """

    def __init__(
        self,
        *,
        crm: Adapter,
        erp: Adapter,
        state: StateStore,
        rules: Rules | None = None,
        matcher: Matcher | None = _UNSET,
        scope: str = "default",
        worker_id: str | None = None,
        batch_size: int = 500,
        retry: RetryPolicy | None = None,
        lease_ttl: timedelta = timedelta(minutes=10),
        boundary: Callable[[str], None] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if crm.system == erp.system:
            raise UsageError(
                f"both adapters are {crm.system!r}; the CRM and ERP must differ",
                code="engine-same-system",
            )
        if batch_size < 1:
            raise UsageError("batch_size must be at least 1", code="engine-batch-size")
        self.crm = crm
        self.erp = erp
        self.state = state
        self.rules = rules or Rules.default()
        self.matcher = default_matcher() if matcher is _UNSET else matcher
        self.scope = scope
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.lease_ttl = lease_ttl
        self.boundary = boundary or _no_boundary
        self.progress = progress or _no_progress
        self.sleep = sleep

    # --- runs --------------------------------------------------------------------------

    def run(self, entities: Sequence[str] | None = None) -> SyncReport:
        """Sync changes since the last run; returns what was done."""
        return self._execute("run", entities, full=False)

    def plan(self, entities: Sequence[str] | None = None) -> SyncReport:
        """Everything :meth:`run` would do, without writing to either system or the state.

        ``report.planned`` lists each write with its field changes.
        """
        return self._execute("plan", entities, full=False)

    def reconcile(self, entities: Sequence[str] | None = None) -> SyncReport:
        """Compare both systems completely and repair drift: missed changes and deletes
        that no change feed reported. Every record is validated again, even one
        whose raw payload is the one last read (a plain run skips those)."""
        return self._execute("reconcile", entities, full=True)

    def _execute(self, mode: str, entities: Sequence[str] | None, *, full: bool) -> SyncReport:
        chosen = self._entities(entities)
        report = SyncReport(uuid.uuid4().hex, mode, datetime.now(UTC))
        dry = mode == "plan"
        conn = self.state.engine.connect() if dry else None
        outer = conn.begin() if conn is not None else None
        ctx = self._context(report, conn)
        try:
            if not dry:
                self._take_lease(ctx)
                with ctx.tx() as tx:
                    tx.start_run(self.scope, report.run_id, mode)
                report.recovered_intents = self._recover(ctx)
            try:
                for entity in chosen:
                    self._entity(ctx, entity, full=full)
            except RetryBudgetExceeded as exc:
                report.stopped = str(exc)
            report.finished_at = datetime.now(UTC)
            if not dry:
                with ctx.tx() as tx:
                    tx.finish_run(report.run_id, json.dumps(report.to_dict(), default=str))
                    tx.purge_intents(self.scope)
                    tx.release_lease(self.scope, self.worker_id)
        finally:
            if outer is not None and conn is not None:
                outer.rollback()
                conn.close()
        return report

    def _take_lease(self, ctx: RunContext) -> None:
        """Take the scope's lease; a lease left by a dead process on this host is taken
        over, any other live lease stops the run with :class:`~crmerp.LeaseHeld`."""
        try:
            with ctx.tx() as tx:
                tx.acquire_lease(self.scope, self.worker_id, self.lease_ttl)
        except LeaseHeld as held:
            if not _dead_local_worker(held.holder):
                raise
            with ctx.tx() as tx:
                tx.release_lease(self.scope, held.holder)
                tx.acquire_lease(self.scope, self.worker_id, self.lease_ttl)

    def _entity(self, ctx: RunContext, entity: str, *, full: bool) -> None:
        started = time.perf_counter()
        for side in ctx.sides():
            if side.reads(entity):
                pull(ctx, entity, side, full=full)
        link_new(ctx, entity)
        apply(ctx, entity)
        ctx.report.entity(entity).seconds += time.perf_counter() - started

    def _entities(self, entities: Sequence[str] | None) -> list[str]:
        wanted = list(entities) if entities is not None else list(ENTITIES)
        unknown = set(wanted) - set(ENTITIES)
        if unknown:
            raise UsageError(
                f"unknown entities {sorted(unknown)}; known: {list(ENTITIES)}", code="engine-entity"
            )
        return [
            e
            for e in ENTITIES
            if e in wanted and (e in self.crm.mappings or e in self.erp.mappings)
        ]

    def _context(self, report: SyncReport, conn: Any) -> RunContext:
        return RunContext(
            scope=self.scope,
            run_id=report.run_id,
            crm=Side("crm", self.crm, self.crm.capabilities()),
            erp=Side("erp", self.erp, self.erp.capabilities()),
            state=self.state,
            rules=self.rules,
            matcher=self.matcher,
            report=report,
            retrier=Retrier(self.retry, self.sleep),
            batch_size=self.batch_size,
            worker_id=self.worker_id,
            lease_ttl=self.lease_ttl,
            boundary=self.boundary,
            progress=self.progress,
            dry_conn=conn,
        )

    def _recover(self, ctx: RunContext) -> int:
        """Settle writes recorded before a crash: link creates that did happen."""
        with ctx.tx() as tx:
            pending = tx.open_intents(self.scope)
        if not pending:
            return 0
        links: list[tuple[str, str, str, str, str | None]] = []
        for intent in pending:
            side = ctx.side_of(intent.system)
            if side is None or intent.kind != "create":
                continue
            record = _find(ctx, side, intent.entity, intent.reference)
            if record is not None:
                links.append(
                    (
                        intent.entity,
                        intent.system,
                        record.id,
                        intent.global_id,
                        intent.payload_hash or None,
                    )
                )
        with ctx.tx() as tx:
            tx.put_links(self.scope, links)
            tx.close_intents([i.id for i in pending], status="recovered")
        return len(pending)

    # --- conflicts, reviews and quarantine ----------------------------------------------

    def conflicts(self, status: str | None = "open") -> list[ConflictRecord]:
        """Parked field conflicts and match reviews (open ones by default)."""
        with self.state.begin() as tx:
            return tx.conflicts(self.scope, status)

    def resolve(self, conflict_id: int, *, pick: str | None = None, value: Any = _UNSET) -> None:
        """Settle a parked conflict; the next run applies it.

        For a field conflict give ``pick="crm"`` or ``"erp"`` (take that side's value)
        or ``value=...``. For a match review give ``pick="link"`` (the same entity)
        or ``pick="new"`` (different entities: keep both, never propose again).
        """
        with self.state.begin() as tx:
            conflict = tx.conflict(self.scope, conflict_id)
            if conflict is None or conflict.status != "open":
                raise UsageError(f"no open conflict {conflict_id}", code="resolve-unknown")
            if conflict.kind == "match":
                self._resolve_match(tx, conflict, pick)
                return
            if value is _UNSET:
                if pick not in {"crm", "erp"}:
                    raise UsageError(
                        "give pick='crm', pick='erp' or value=...", code="resolve-pick"
                    )
                # The picked side's value at the next run counts (it may have been
                # edited since); the value shown now is the fallback.
                fallback = conflict.crm if pick == "crm" else conflict.erp
                resolution: dict[str, Any] = {"pick": pick, "fallback": fallback}
            else:
                resolution = {"value": value}
            tx.set_conflict(conflict_id, "resolved", resolution)
            tx.stage(
                self.scope,
                [
                    InboxRow(
                        conflict.entity,
                        ENGINE_SYSTEM,
                        conflict.global_id,
                        conflict.global_id,
                        None,
                        None,
                    )
                ],
            )

    def _resolve_match(self, tx: Any, conflict: ConflictRecord, pick: str | None) -> None:
        if pick not in {"link", "new"}:
            raise UsageError("a match review takes pick='link' or pick='new'", code="resolve-match")
        crm_id, erp_id = str(conflict.crm), str(conflict.erp)
        entity = conflict.entity
        if pick == "link":
            rows = [
                (self.crm.system, crm_id, conflict.global_id),
                (self.erp.system, erp_id, conflict.global_id),
            ]
        else:
            rows = [
                (
                    self.crm.system,
                    crm_id,
                    deterministic_id(self.scope, entity, self.crm.system, crm_id),
                ),
                (
                    self.erp.system,
                    erp_id,
                    deterministic_id(self.scope, entity, self.erp.system, erp_id),
                ),
            ]
        tx.assign(self.scope, entity, rows)
        tx.decide_match(
            self.scope, entity, crm_id, erp_id, "confirmed" if pick == "link" else "rejected"
        )
        tx.set_conflict(conflict.id, "applied", {"pick": pick})

    def quarantined(self) -> list[QuarantineRecord]:
        """Records set aside with the reason."""
        with self.state.begin() as tx:
            return tx.quarantined(self.scope)

    def retry_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Put quarantined records back in line for the next run; returns how many."""
        with self.state.begin() as tx:
            chosen = [q for q in tx.quarantined(self.scope) if ids is None or q.id in set(ids)]
            for item in chosen:
                tx.defer(self.scope, item.entity, [(item.system, item.native_id)], "retry")
            self._requeue_failed(tx, chosen)
            tx.drop_quarantine(self.scope, [q.id for q in chosen])
        return len(chosen)

    def _requeue_failed(self, tx: Any, items: Sequence[QuarantineRecord]) -> None:
        """Failed writes keep their staged rows with a note; clear it. Bad reads are
        re-read: their cursor is rewound to the start (the engine skips unchanged)."""
        for item in items:
            # Changes that waited for this record (the other side's edit of a
            # record that would not validate here) go back in line too.
            tx.conn.execute(
                _clear_note_sql(exact=True),
                {
                    "scope": self.scope,
                    "entity": item.entity,
                    "prefix": f"{FAILED_NOTE} {item.reason}",
                },
            )
            if item.reason.startswith("write refused"):
                tx.conn.execute(
                    _clear_note_sql(),
                    {"scope": self.scope, "entity": item.entity, "prefix": f"{FAILED_NOTE}%"},
                )
            else:
                tx.set_cursor(self.scope, item.system, item.entity, None)

    def status(self) -> dict[str, Any]:
        """Links per entity and system, staged changes, open conflicts, last runs."""
        with self.state.begin() as tx:
            return {
                "links": {f"{e}/{s}": n for (e, s), n in tx.count_links(self.scope).items()},
                "staged": tx.inbox_counts(self.scope),
                "conflicts": len(tx.conflicts(self.scope)),
                "quarantined": len(tx.quarantined(self.scope)),
                "cursors": {f"{s}/{e}": c for (s, e), c in tx.all_cursors(self.scope).items()},
                "lease": tx.lease_holder(self.scope),
                "runs": tx.last_runs(self.scope, 5),
            }

    def close(self) -> None:
        """Close both adapters (the state is the caller's to close)."""
        for adapter in (self.crm, self.erp):
            try:
                adapter.close()
            except Exception as exc:  # closing must not hide the run's outcome
                raise FatalError(f"closing {adapter.system} failed: {exc}") from exc


def _dead_local_worker(holder: str) -> bool:
    """True when ``holder`` names a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _find(ctx: RunContext, side: Side, entity: str, reference: str) -> Any:
    def call() -> Any:
        return side.adapter.find_by_reference(entity, [reference])

    return ctx.call(f"find {side.system} {entity}", call).get(reference)


def _clear_note_sql(*, exact: bool = False) -> Any:
    from sqlalchemy import text

    return text(
        "UPDATE crmerp_inbox SET note = NULL WHERE scope = :scope AND entity = :entity "
        + ("AND note = :prefix" if exact else "AND note LIKE :prefix")
    )
