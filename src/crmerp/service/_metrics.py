"""What a watcher counts, in the Prometheus text format (through prometheus-client).

=============================================  =========================================
metric                                         what it says
=============================================  =========================================
``crmerp_runs_total{kind,outcome}``            batches run: kind ``catch-up``, ``events``,
                                               ``heartbeat``, ``reconcile``; outcome ``ok``
                                               or ``failed``
``crmerp_writes_total{entity,side,kind}``      records written: kind ``create``, ``update``,
                                               ``delete``
``crmerp_events_total{outcome}``               events received: ``accepted``, ``duplicate``
``crmerp_open_conflicts``                      conflicts waiting for a person
``crmerp_quarantined``                         records set aside with a reason
``crmerp_lag_seconds``                         histogram: from a change (its event's time)
                                               to the end of the batch that handled it
``crmerp_last_success_timestamp_seconds``      per entity: when a batch last ran it cleanly
=============================================  =========================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from crmerp.sync import SyncReport

__all__ = ["WatchMetrics"]

_LAG_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class WatchMetrics:
    """The metrics of one watcher, in their own registry (or the one given).

    Needs the ``service`` extra (``pip install 'crmerp[service]'``).

    >>> metrics = WatchMetrics()
    >>> b"crmerp_open_conflicts 0.0" in metrics.render()
    True
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        """The registry the metrics live in."""
        on = self.registry
        self.runs = Counter(
            "crmerp_runs", "Batches run, by kind and outcome", ["kind", "outcome"], registry=on
        )
        self.writes = Counter(
            "crmerp_writes",
            "Records written, by entity, side and kind",
            ["entity", "side", "kind"],
            registry=on,
        )
        self.events = Counter(
            "crmerp_events", "Events received, by outcome", ["outcome"], registry=on
        )
        self.open_conflicts = Gauge(
            "crmerp_open_conflicts", "Conflicts waiting for a person", registry=on
        )
        self.quarantined = Gauge(
            "crmerp_quarantined", "Records set aside with a reason", registry=on
        )
        self.lag = Histogram(
            "crmerp_lag_seconds",
            "From a change (its event's time) to the end of the batch that handled it",
            buckets=_LAG_BUCKETS,
            registry=on,
        )
        self.last_success = Gauge(
            "crmerp_last_success_timestamp_seconds",
            "When a batch last ran the entity cleanly (seconds since the epoch)",
            ["entity"],
            registry=on,
        )

    def batch(
        self,
        kind: str,
        report: SyncReport | None,
        lags: Iterable[float],
        *,
        at: float,
    ) -> None:
        """Count one batch: ``report`` ``None`` when it failed."""
        self.runs.labels(kind, "ok" if report is not None else "failed").inc()
        if report is None:
            return
        for entity, rep in report.entities.items():
            for side in ("crm", "erp"):
                counts = rep.side(side)
                for what, n in (
                    ("create", counts.created),
                    ("update", counts.updated),
                    ("delete", counts.deleted),
                ):
                    if n:
                        self.writes.labels(entity, side, what).inc(n)
            self.last_success.labels(entity).set(at)
        for lag in lags:
            self.lag.observe(max(lag, 0.0))

    def scope(self, open_conflicts: int, quarantined: int) -> None:
        """The scope's open conflicts and quarantine size, as last counted."""
        self.open_conflicts.set(open_conflicts)
        self.quarantined.set(quarantined)

    def render(self) -> bytes:
        """Every metric in the Prometheus text format."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    @property
    def content_type(self) -> str:
        """The content type of :meth:`render`'s answer."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return str(CONTENT_TYPE_LATEST)
