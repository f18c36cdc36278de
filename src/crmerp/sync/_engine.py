"""The sync engine: pull, link, merge, write and commit, entity by entity."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from crmerp._errors import CrmErpError, FatalError, RetryBudgetExceeded, UsageError
from crmerp.adapters import ENTITIES, Adapter, Capabilities
from crmerp.match import Matcher, default_matcher
from crmerp.state import (
    ConflictRecord,
    QuarantineRecord,
    StateStore,
)
from crmerp.sync._apply import apply
from crmerp.sync._context import RunContext, Side, foreign, instance_of
from crmerp.sync._history import RecordHistory, record_history, run_changes
from crmerp.sync._leasing import RUNNING, HeldLeases, instance_name, take_leases
from crmerp.sync._linking import link_new
from crmerp.sync._pull import pull, pull_ids
from crmerp.sync._recovery import recover
from crmerp.sync._report import SyncReport
from crmerp.sync._retry import Retrier, RetryPolicy
from crmerp.sync._rules import Rules
from crmerp.sync._settle import UNSET, put_back, settle_conflict

if TYPE_CHECKING:
    from crmerp.service import Batch, EventSource, Watcher, WatchMetrics

__all__ = ["SyncEngine"]

_UNSET: Any = object()
_log = logging.getLogger("crmerp.sync")
"""Runs at INFO (start, end, counts), each entity at DEBUG, an early stop at WARNING."""


def _log_entity(report: SyncReport, entity: str) -> None:
    rep = report.entity(entity)
    _log.debug(
        "%s %s: read crm %d erp %d, wrote crm %d erp %d, parked %d, quarantined %d",
        report.run_id[:8],
        entity,
        rep.crm.pulled,
        rep.erp.pulled,
        rep.crm.writes,
        rep.erp.writes,
        rep.conflicts_parked,
        rep.crm.quarantined + rep.erp.quarantined,
    )


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

    ``worker_id`` names this worker in its leases (default: host, process id and a
    random suffix). A run leases each unit of work it covers (:class:`Unit`: today
    one per entity of the scope) for ``lease_ttl`` and renews the leases at every
    commit. A lease names the engine *instance* too (:attr:`instance`: worker id,
    host, process id and a nonce), so a second engine or process with the same
    ``worker_id`` stops with :class:`~crmerp.LeaseHeld` while the lease is live,
    as does any other worker. A lease left by a process of this host that no
    longer runs, or by an engine of this process whose run ended without
    releasing it (it raised), is taken over at once; one left elsewhere after its
    expiry. Each lease carries a fencing token that grows at every take-over,
    checked inside every commit of the run: a run whose lease another worker took
    over (it stalled past ``lease_ttl``) stops with :class:`~crmerp.LeaseLost`
    before it writes again, to either system or the state. With ``lease_wait`` a
    run whose units are leased waits up to that long for them (polling through
    ``sleep``) before it stops with :class:`~crmerp.LeaseHeld`; by default it
    stops at once.

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
        lease_wait: timedelta = timedelta(0),
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
        if lease_ttl <= timedelta(0):
            raise UsageError("lease_ttl must be positive", code="engine-lease-ttl")
        self.crm = crm
        self.erp = erp
        self.state = state
        self.rules = rules or Rules.default()
        self.matcher = default_matcher() if matcher is _UNSET else matcher
        self.scope = scope
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.instance = instance_name(self.worker_id)
        """This engine instance in its leases: worker id, host, process id and a nonce."""
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.lease_ttl = lease_ttl
        self.lease_wait = lease_wait
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

    def watch(
        self,
        sources: Sequence[EventSource] = (),
        *,
        entities: Sequence[str] | None = None,
        heartbeat: timedelta = timedelta(seconds=30),
        window: timedelta = timedelta(milliseconds=100),
        reconcile_every: timedelta | None = timedelta(days=1),
        metrics: WatchMetrics | None = None,
        on_batch: Callable[[Batch], None] | None = None,
    ) -> Watcher:
        """A :class:`~crmerp.service.Watcher` that keeps both systems agreeing
        continuously: call its :meth:`~crmerp.service.Watcher.run` (it blocks until
        :meth:`~crmerp.service.Watcher.stop`).

        It runs the entities that ``sources`` report news for, gathering events for
        ``window`` into one micro-batch, polls everything every ``heartbeat`` (so a
        lost event costs at most one heartbeat) and reconciles fully every
        ``reconcile_every`` (``None``: never). It holds the leases of its units
        from start to stop. Events are hints; the change feed stays the truth.

        >>> watcher = engine.watch([WebhookSource(secret=...)])   # doctest: +SKIP
        >>> watcher.run()                                          # doctest: +SKIP
        """
        from crmerp.service._watch import Watcher

        return Watcher(
            self,
            sources,
            entities=entities,
            heartbeat=heartbeat,
            window=window,
            reconcile_every=reconcile_every,
            metrics=metrics,
            on_batch=on_batch,
        )

    def _execute(
        self,
        mode: str,
        entities: Sequence[str] | None,
        *,
        full: bool,
        held: HeldLeases | None = None,
        hints: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> SyncReport:
        chosen = self._entities(entities)
        report = SyncReport(uuid.uuid4().hex, mode, datetime.now(UTC))
        dry = mode == "plan"
        conn = self.state.engine.connect() if dry else None
        outer = conn.begin() if conn is not None else None
        ctx = self._context(report, conn)
        units = [ctx.unit(entity) for entity in chosen]
        if held is not None:
            held.covers(units)
        RUNNING.add(self.instance)
        try:
            if held is not None:
                ctx.tokens = dict(held.tokens)
            elif not dry:
                ctx.tokens = take_leases(ctx, units, lease_wait=self.lease_wait, sleep=self.sleep)
            if not dry:
                with ctx.tx() as tx:
                    tx.log.start_run(report.run_id, mode)
                report.recovered_intents = recover(ctx)
            _log.info("%s %s started: scope %r, %s", mode, report.run_id[:8], self.scope, chosen)
            try:
                for entity in chosen:
                    self._entity(ctx, entity, full=full, hints=hints or {})
                    _log_entity(report, entity)
            except RetryBudgetExceeded as exc:
                report.stopped = str(exc)
                _log.warning("%s %s stopped early: %s", mode, report.run_id[:8], exc)
            report.finished_at = datetime.now(UTC)
            _log.info(
                "%s %s done: %d write(s), %d conflict(s) parked, %d quarantined",
                mode,
                report.run_id[:8],
                report.writes,
                report.conflicts_parked,
                report.quarantined,
            )
            if not dry:
                with ctx.tx(*units) as tx:
                    tx.log.finish_run(report.run_id, json.dumps(report.to_dict(), default=str))
                    tx.intents.purge(list(ctx.tokens))
                    if held is None:
                        tx.leases.release(
                            self.worker_id, units=list(ctx.tokens), instance=self.instance
                        )
        finally:
            if held is None:
                RUNNING.discard(self.instance)
            if outer is not None and conn is not None:
                outer.rollback()
                conn.close()
        return report

    def _hold(self, entities: Sequence[str] | None) -> HeldLeases:
        """Lease the units of ``entities`` until :meth:`HeldLeases.release`: runs
        given the hold (``_execute(held=...)``) neither take nor release them."""
        chosen = self._entities(entities)
        report = SyncReport(uuid.uuid4().hex, "hold", datetime.now(UTC))
        ctx = self._context(report, None)
        RUNNING.add(self.instance)
        try:
            units = [ctx.unit(e) for e in chosen]
            tokens = take_leases(ctx, units, lease_wait=self.lease_wait, sleep=self.sleep)
        except BaseException:
            RUNNING.discard(self.instance)
            raise
        return HeldLeases(
            self.state, self.scope, self.worker_id, self.instance, self.lease_ttl, chosen, tokens
        )

    def _entity(
        self,
        ctx: RunContext,
        entity: str,
        *,
        full: bool,
        hints: Mapping[tuple[str, str], Sequence[str]],
    ) -> None:
        """``hints`` (entity, system) -> the ids an event named: a side with no
        change feed fetches those instead of reading everything."""
        started = time.perf_counter()
        for side in ctx.sides():
            if not side.reads(entity):
                continue
            named = hints.get((entity, side.system))
            if named is not None and not full and not side.caps.change_feed:
                pull_ids(ctx, entity, side, named)
            else:
                pull(ctx, entity, side, full=full)
        link_new(ctx, entity)
        apply(ctx, entity)
        ctx.report.entity(entity).seconds += time.perf_counter() - started

    def _entities(self, entities: Sequence[str] | None) -> list[str]:
        wanted = list(entities) if entities is not None else list(ENTITIES)
        unknown = set(wanted) - set(ENTITIES)
        if unknown:
            raise UsageError(
                f"no entity {', '.join(map(repr, sorted(unknown)))}; known: {', '.join(ENTITIES)}",
                code="engine-entity",
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
            crm=Side("crm", self.crm, _capabilities(self.crm)),
            erp=Side("erp", self.erp, _capabilities(self.erp)),
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
            instance=self.instance,
        )

    # --- conflicts, reviews and quarantine ----------------------------------------------

    def conflicts(self, status: str | None = "open") -> list[ConflictRecord]:
        """Parked field conflicts and match reviews (open ones by default)."""
        with self.state.transaction(self.scope) as tx:
            return tx.reviews.conflicts(status)

    def resolve(
        self,
        conflict_id: int,
        *,
        pick: str | None = None,
        value: Any = UNSET,
        by: str | None = None,
    ) -> None:
        """Settle a parked conflict; the next run applies it.

        For a field conflict give ``pick="crm"`` or ``"erp"`` (take that side's value)
        or ``value=...``. For a match review give ``pick="link"`` (the same entity)
        or ``pick="new"`` (different entities: keep both, never propose again).
        An unknown id raises :class:`~crmerp.UsageError` with code
        ``resolve-unknown``; a conflict already settled, code ``resolve-settled``.
        ``by`` names the person who decided: the decision goes into the audit
        trail (origin ``person:<by>``, rule ``decided:<pick or value>``) at once.
        """
        systems = (
            (self.crm.system, instance_of(self.crm)),
            (self.erp.system, instance_of(self.erp)),
        )
        with self.state.transaction(self.scope) as tx:
            settle_conflict(tx, systems, conflict_id, pick=pick, value=value, by=by)

    def history(self, entity: str, record_id: str, *, limit: int | None = None) -> RecordHistory:
        """Why a record's fields have their values: every change the engine made to
        them, newest first, with the old and new value, the side it came from, the
        run and time, and the rule that decided.

        ``record_id`` is the record's id in either system or its global id. An
        unknown record raises :class:`~crmerp.UsageError` (code
        ``history-unknown``).

        >>> engine.history("customer", "0015J0000000000001").changes[0].rule  # doctest: +SKIP
        'owner:erp'
        """
        with self.state.transaction(self.scope) as tx:
            return record_history(tx, (self.crm.system, self.erp.system), entity, record_id, limit)

    def run_changes(self, run_id: str) -> list[RecordHistory]:
        """Every field change run ``run_id`` made, record by record, oldest first
        (``SyncReport.run_id`` names a run; a plan's are rolled back and leave none)."""
        with self.state.transaction(self.scope) as tx:
            return run_changes(tx, run_id)

    def quarantined(self) -> list[QuarantineRecord]:
        """Records set aside with the reason."""
        with self.state.transaction(self.scope) as tx:
            return tx.reviews.quarantined()

    def retry_quarantined(self, ids: Iterable[int] | None = None, *, by: str | None = None) -> int:
        """Put quarantined records back in line for the next run; returns how many.

        ``ids`` (default: every quarantined record) name records of
        :meth:`quarantined`; an id that names none raises
        :class:`~crmerp.UsageError` (code ``quarantine-unknown``) and nothing is
        put back. ``by`` names the person who asked: each retry goes into the
        audit trail (origin ``person:<by>``, rule ``decided:retry``).
        """
        with self.state.transaction(self.scope) as tx:
            return put_back(tx, ids, by)

    def status(self) -> dict[str, Any]:
        """Links per entity and system, staged changes, open conflicts, last runs."""
        with self.state.transaction(self.scope) as tx:
            return {
                "links": {f"{e}/{s}": n for (e, s), n in tx.links.count().items()},
                "staged": tx.inbox.counts(),
                "conflicts": len(tx.reviews.conflicts()),
                "quarantined": len(tx.reviews.quarantined()),
                "cursors": {f"{s}/{e}": c for (s, e), c in tx.cursors.all().items()},
                "lease": tx.leases.holder(),
                "leases": {
                    lease.unit: {
                        "holder": lease.holder,
                        "instance": lease.instance,
                        "token": lease.token,
                        "expires_at": lease.expires_at,
                    }
                    for lease in tx.leases.all()
                },
                "runs": tx.log.last_runs(5),
            }

    def close(self) -> None:
        """Close both adapters (the state is the caller's to close); one that fails
        to close does not keep the other open, and is reported as a
        :class:`~crmerp.FatalError` once both were tried."""
        failed: list[tuple[str, Exception]] = []
        for adapter in (self.crm, self.erp):
            try:
                adapter.close()
            except Exception as exc:  # closing must not hide the run's outcome
                failed.append((adapter.system, exc))
        if failed:
            system, error = failed[0]
            raise FatalError(f"closing {system} failed: {error}") from error


def _capabilities(adapter: Adapter) -> Capabilities:
    """The adapter's capabilities; an exception asking for them is an AdapterError."""
    try:
        return adapter.capabilities()
    except CrmErpError:
        raise
    except Exception as exc:
        raise foreign(f"capabilities {adapter.system}", exc) from exc
