"""Services around the engine: continuous sync with events as hints.

* :class:`Watcher` (made by :meth:`crmerp.sync.SyncEngine.watch`) runs the engine
  continuously: micro-batches of the entities that have news, a heartbeat poll, a
  scheduled full reconcile, its leases held from start to stop.
* Event sources: :class:`WebhookSource` (an HTTP endpoint systems post to, also
  serving ``/healthz`` and ``/metrics``) and :class:`JetStreamSource` (a NATS
  JetStream durable consumer); anything with ``start(deliver)`` and ``stop()``
  (:class:`EventSource`) will do.
* :class:`WatchMetrics`: what the watcher counts, in the Prometheus text format.

The sources and the metrics need the ``service`` extra:
``pip install 'crmerp[service]'``.
"""

from crmerp.service._events import Event, EventSource, SeenDeliveries, parse_event, sign
from crmerp.service._http_source import WebhookSource, webhook_app
from crmerp.service._metrics import WatchMetrics
from crmerp.service._nats_source import JetStreamSource
from crmerp.service._watch import Batch, Health, Watcher

__all__ = [
    "Batch",
    "Event",
    "EventSource",
    "Health",
    "JetStreamSource",
    "SeenDeliveries",
    "WatchMetrics",
    "Watcher",
    "WebhookSource",
    "parse_event",
    "sign",
    "webhook_app",
]
