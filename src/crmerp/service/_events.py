"""Events: hints that something changed in one of the systems, and how they are read.

An event names an entity (or nothing: "anything may have changed"), optionally the
system and the native ids. It is a hint: the watcher runs the entity it names, and
the run reads the change feed, which stays the truth. A lost event costs at most
one heartbeat; a repeated one costs nothing.

The body a source accepts is JSON::

    {"entity": "customer", "system": "tryton", "ids": ["12"], "id": "delivery-7"}

Every key is optional; an empty body means "anything may have changed".

>>> parse_event(b'{"entity": "customer", "ids": [12]}').ids
('12',)
>>> parse_event(b"").entity is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs
import orjson

from crmerp._errors import DataError
from crmerp.adapters import ENTITIES, parse_datetime

__all__ = ["Event", "EventSource", "SeenDeliveries", "parse_event", "sign", "signature_ok"]

SIGNATURE_HEADER = "x-crmerp-signature"
"""The header carrying ``sha256=<hex HMAC-SHA256 of the body under the shared secret>``."""


def _no_settle() -> None:
    return None


@attrs.frozen
class Event:
    """A hint that ``entity`` (``None``: any entity) changed, in ``system`` if known.

    ``ids`` are the native ids the sender named (fetched directly for a system
    that has no change feed); ``delivery`` the sender's id of this delivery, used
    to drop repeats; ``at`` when the change happened, if the sender said, else
    when the event was received (it starts the lag metric). ``ack`` and ``nak``
    tell a durable source the batch holding the event was done or failed.
    """

    entity: str | None = None
    system: str | None = None
    ids: tuple[str, ...] = ()
    delivery: str | None = None
    at: float = attrs.field(factory=time.time)
    """Seconds since the epoch."""
    ack: Callable[[], None] = attrs.field(default=_no_settle, eq=False, repr=False)
    nak: Callable[[], None] = attrs.field(default=_no_settle, eq=False, repr=False)


@runtime_checkable
class EventSource(Protocol):
    """Where events come from: a webhook endpoint, a queue, a test.

    :meth:`start` is called once by the watcher with the function to hand each
    event to (thread-safe, never blocks); :meth:`stop` once when it stops.
    """

    def start(self, deliver: Callable[[Event], None]) -> None:
        """Begin delivering events (return once the source is ready)."""

    def stop(self) -> None:
        """Stop delivering and release what the source holds."""


def parse_event(body: bytes, *, delivery: str | None = None) -> Event:
    """The event a JSON body describes; a :class:`~crmerp.DataError` when it is not one."""
    if not body.strip():
        return Event(delivery=delivery)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"the event is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError("the event must be a JSON object")
    entity = data.get("entity")
    if entity is not None and entity not in ENTITIES:
        raise DataError(f"unknown entity {entity!r}; known: {list(ENTITIES)}", field="entity")
    system = data.get("system")
    if system is not None and not isinstance(system, str):
        raise DataError("system must be text", field="system")
    ids = data.get("ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
        raise DataError("ids must be a list of ids", field="ids")
    given = data.get("id", delivery)
    at = _when(data.get("at"))
    return Event(
        entity=entity,
        system=system,
        ids=tuple(str(i) for i in ids),
        delivery=None if given is None else str(given),
        at=time.time() if at is None else at,
    )


def _when(value: object) -> float | None:
    if value is None:
        return None
    try:
        stamp: datetime | None = parse_datetime(value)
    except (TypeError, ValueError):
        raise DataError("at must be an ISO 8601 time with an offset", field="at") from None
    return None if stamp is None else stamp.timestamp()


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex>``.

    >>> sign("s3cret", b"{}")[:7]
    'sha256='
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(secret: str, body: bytes, given: str | None) -> bool:
    """True when ``given`` is the signature of ``body`` (compared in constant time)."""
    return given is not None and hmac.compare_digest(sign(secret, body), given.strip())


class SeenDeliveries:
    """The last ``size`` delivery ids handled, to drop an event delivered again.

    >>> seen = SeenDeliveries(size=1)
    >>> seen.remember("a"); seen.handled("a"), seen.handled("b")
    (True, False)
    """

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def handled(self, delivery: str | None) -> bool:
        """True for a delivery remembered as handled (never for one without an id)."""
        return delivery is not None and delivery in self._seen

    def remember(self, delivery: str | None) -> None:
        """Remember a delivery as handled, forgetting the oldest beyond ``size``."""
        if delivery is None:
            return
        self._seen[delivery] = None
        self._seen.move_to_end(delivery)
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
