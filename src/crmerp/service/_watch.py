"""The watcher: a long-running loop around the engine that keeps both systems agreeing.

It holds the leases of its units from start to stop and runs micro-batches:

* **events**: a source hands in an event; the watcher gathers more for a short
  window, then runs the entities they name (``engine.run(entities)``);
* **heartbeat**: when no event came for a while, it runs every entity, so a lost
  event costs at most one heartbeat;
* **reconcile**: on a schedule, a full comparison of both systems.

Events are hints: the run reads the change feed, which stays the truth, so a
repeated event writes nothing. :meth:`Watcher.stop` (from a signal handler too)
lets the batch in progress finish, then releases the leases and returns.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from crmerp._errors import FatalError, LeaseLost, RetryableError, UsageError
from crmerp.service._events import Event, EventSource, SeenDeliveries
from crmerp.service._metrics import WatchMetrics

if TYPE_CHECKING:
    from crmerp.sync import SyncEngine, SyncReport
    from crmerp.sync._leasing import HeldLeases

__all__ = ["Batch", "Health", "Watcher"]

log = logging.getLogger("crmerp.service")

_STOP: Any = object()


def _hints(events: Sequence[Event]) -> dict[tuple[str, str], list[str]]:
    """(entity, system) -> the ids every event about them named. A pair some event
    names without ids (or any event naming no entity or system) gets none: that
    side is read as usual."""
    hints: dict[tuple[str, str], list[str]] = {}
    vague: set[tuple[str, str]] = set()
    for event in events:
        if event.entity is None or event.system is None:
            return {}
        key = (event.entity, event.system)
        if not event.ids:
            vague.add(key)
        hints.setdefault(key, []).extend(event.ids)
    return {key: ids for key, ids in hints.items() if key not in vague}


@attrs.frozen
class Batch:
    """One micro-batch the watcher ran: why, which entities, the events it answered.

    ``report`` is the run's report, ``None`` when the run failed with ``error``.
    """

    kind: str
    """``catch-up`` (the first, at start), ``events``, ``heartbeat`` or ``reconcile``."""
    entities: tuple[str, ...]
    events: tuple[Event, ...]
    report: SyncReport | None
    error: str | None = None


@attrs.frozen
class Health:
    """What ``/healthz`` answers: ``ok`` and why not."""

    ok: bool
    status: str
    """``starting``, ``ok``, ``failing`` (the last batch failed), ``late`` (no clean
    batch for three heartbeats) or ``stopped``."""
    last_success: float | None
    """When a batch last ran cleanly (seconds since the epoch)."""
    batches: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``/healthz`` answers with."""
        return {
            "ok": self.ok,
            "status": self.status,
            "last_success": self.last_success,
            "batches": self.batches,
        }


class Watcher:
    """Runs an engine continuously; made by :meth:`SyncEngine.watch`.

    :meth:`run` blocks until :meth:`stop` and returns normally; it raises
    :class:`~crmerp.LeaseLost` (after stopping its sources) when another worker
    took a unit over, and any :class:`~crmerp.FatalError` a run raised. A run
    that fails with a retryable error is logged and counted; the next heartbeat
    tries again. ``on_batch`` is called after each batch (tests wait on it).
    """

    def __init__(
        self,
        engine: SyncEngine,
        sources: Sequence[EventSource] = (),
        *,
        entities: Sequence[str] | None = None,
        heartbeat: timedelta = timedelta(seconds=30),
        window: timedelta = timedelta(milliseconds=100),
        reconcile_every: timedelta | None = timedelta(days=1),
        metrics: WatchMetrics | None = None,
        on_batch: Callable[[Batch], None] | None = None,
    ) -> None:
        if heartbeat <= timedelta(0):
            raise UsageError("heartbeat must be positive", code="watch-heartbeat")
        if window < timedelta(0):
            raise UsageError("window must not be negative", code="watch-window")
        if reconcile_every is not None and reconcile_every <= timedelta(0):
            raise UsageError("reconcile_every must be positive", code="watch-reconcile")
        self.engine = engine
        self.sources = list(sources)
        self.entities = engine._entities(entities)
        """The entities watched, in dependency order."""
        self.heartbeat = heartbeat.total_seconds()
        self.window = window.total_seconds()
        self.reconcile_every = None if reconcile_every is None else reconcile_every.total_seconds()
        self.metrics = metrics
        self.on_batch = on_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._seen = SeenDeliveries()
        self._seen_lock = threading.Lock()
        self._batches = 0
        self._last_success: float | None = None
        self._last_failed = False
        self._running = False

    # --- what sources and operators call ------------------------------------------------

    def submit(self, event: Event) -> None:
        """Hand in an event (thread-safe, never blocks). A delivery already handled
        is acknowledged and dropped."""
        with self._seen_lock:
            repeat = self._seen.handled(event.delivery)
        if self.metrics is not None:
            self.metrics.events.labels("duplicate" if repeat else "accepted").inc()
        if repeat:
            event.ack()
            return
        self._queue.put(event)

    def stop(self) -> None:
        """Ask the watcher to stop once the batch in progress is done (signal-safe)."""
        self._stopping.set()
        self._queue.put(_STOP)

    def health(self) -> Health:
        """How the watcher is doing, for ``/healthz``."""
        if not self._running:
            status = "stopped" if self._batches else "starting"
        elif self._last_failed:
            status = "failing"
        elif self._last_success is None:
            status = "starting"
        elif time.time() - self._last_success > 3 * self.heartbeat + 60:
            status = "late"
        else:
            status = "ok"
        return Health(status == "ok", status, self._last_success, self._batches)

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Watch until :meth:`stop`: take the leases, start the sources, run batches."""
        held = self.engine._hold(self.entities)
        started: list[EventSource] = []
        self._running = True
        try:
            for source in self.sources:
                bind = getattr(source, "bind", None)
                if callable(bind):
                    bind(self)
                source.start(self.submit)
                started.append(source)
            log.info(
                "watching %s",
                ", ".join(self.entities),
                extra={"scope": self.engine.scope, "entities": self.entities},
            )
            self._loop(held)
        finally:
            self._running = False
            for source in reversed(started):
                source.stop()
            held.release()
            log.info("stopped watching", extra={"scope": self.engine.scope})

    def _loop(self, held: HeldLeases) -> None:
        now = time.monotonic()
        due_beat = now  # the first batch catches up with everything at once
        due_reconcile = None if self.reconcile_every is None else now + self.reconcile_every
        renew_every = max(self.engine.lease_ttl.total_seconds() / 3, 0.001)
        due_renew = now + renew_every
        kind = "catch-up"
        while not self._stopping.is_set():
            wake = min(due_beat, due_renew, due_reconcile or due_beat)
            events = self._gather(max(wake - time.monotonic(), 0.0))
            if self._stopping.is_set():
                self._settle(events, ok=False)
                break
            now = time.monotonic()
            if due_reconcile is not None and now >= due_reconcile:
                due_reconcile = now + (self.reconcile_every or 0)
                self._batch(held, "reconcile", self.entities, events)
                due_beat = now + self.heartbeat
            elif now >= due_beat:
                self._batch(held, kind, self.entities, events)
                kind = "heartbeat"
                # A steady beat, counted from the batch's start: a change waits at
                # most one heartbeat plus one batch, however long batches take.
                due_beat = max(now + self.heartbeat, time.monotonic())
            elif events:
                self._batch(held, "events", self._named(events), events)
            else:
                held.renew()
            # Every batch commits through the fence, which renews the leases.
            due_renew = time.monotonic() + renew_every

    def _gather(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` for an event, then gather more for the window."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if first is _STOP:
            return []
        events = [first]
        until = time.monotonic() + self.window
        while (left := until - time.monotonic()) > 0:
            try:
                more = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if more is _STOP:
                break
            events.append(more)
        return events

    def _named(self, events: Sequence[Event]) -> list[str]:
        """The watched entities the events name (all of them for an event naming none)."""
        named = {e.entity for e in events}
        if None in named:
            return list(self.entities)
        return [e for e in self.entities if e in named]

    def _batch(
        self, held: HeldLeases, kind: str, entities: Sequence[str], events: Sequence[Event]
    ) -> None:
        report: SyncReport | None = None
        error: str | None = None
        try:
            if entities:
                full = kind == "reconcile"
                report = self.engine._execute(
                    "reconcile" if full else "run",
                    entities,
                    full=full,
                    held=held,
                    hints=None if kind != "events" else _hints(events),
                )
        except LeaseLost:
            self._failed(kind, entities, events, "lease lost")
            raise
        except RetryableError as exc:
            error = str(exc)
            log.warning(
                "%s batch failed, the next heartbeat tries again: %s",
                kind,
                exc,
                extra={"scope": self.engine.scope, "entities": list(entities)},
            )
        except FatalError as exc:
            self._failed(kind, entities, events, str(exc))
            raise
        if error is not None:
            self._failed(kind, entities, events, error)
            return
        self._done(kind, entities, events, report)

    def _done(
        self,
        kind: str,
        entities: Sequence[str],
        events: Sequence[Event],
        report: SyncReport | None,
    ) -> None:
        at = time.time()
        self._batches += 1
        self._last_success = at
        self._last_failed = False
        self._settle(events, ok=True)
        if report is not None:
            log.info(
                "%s batch %s: %d write(s)",
                kind,
                report.run_id[:8],
                report.writes,
                extra={
                    "run_id": report.run_id,
                    "scope": self.engine.scope,
                    "entities": list(entities),
                    "writes": report.writes,
                },
            )
        if self.metrics is not None:
            self.metrics.batch(kind, report, [at - e.at for e in events], at=at)
            if report is None or report.writes or report.conflicts_parked or kind != "events":
                self.metrics.scope(len(self.engine.conflicts()), len(self.engine.quarantined()))
        if self.on_batch is not None:
            self.on_batch(Batch(kind, tuple(entities), tuple(events), report))

    def _failed(
        self, kind: str, entities: Sequence[str], events: Sequence[Event], error: str
    ) -> None:
        self._batches += 1
        self._last_failed = True
        self._settle(events, ok=False)
        if self.metrics is not None:
            self.metrics.batch(kind, None, (), at=time.time())
        if self.on_batch is not None:
            self.on_batch(Batch(kind, tuple(entities), tuple(events), None, error))

    def _settle(self, events: Sequence[Event], *, ok: bool) -> None:
        """Acknowledge the events of a clean batch (remembering their deliveries),
        or hand them back to a durable source for redelivery."""
        for event in events:
            if ok:
                with self._seen_lock:
                    self._seen.remember(event.delivery)
                event.ack()
            else:
                event.nak()
