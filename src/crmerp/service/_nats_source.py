"""A NATS JetStream durable consumer as an event source (through nats-py).

JetStream is the durable queue a company puts between webhooks and a fleet of
workers. The source pulls messages from a durable consumer; each one's body is an
event (see :func:`~crmerp.service.parse_event`). A message is acknowledged only
once the batch holding it ran cleanly; a failed batch naks it, and one whose
process died leaves it unacknowledged, so JetStream delivers it again (after
``ack_wait``). A body that is not an event is terminated (never redelivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from crmerp._errors import DataError, FatalError
from crmerp.service._events import Event, parse_event

if TYPE_CHECKING:
    from nats.aio.msg import Msg

__all__ = ["JetStreamSource"]

log = logging.getLogger("crmerp.service")


class JetStreamSource:
    """Events from the JetStream ``stream``, read by the durable consumer ``durable``.

    With ``create`` the stream is made when it is missing, on ``subjects``.
    Needs the ``service`` extra.

    >>> source = JetStreamSource(url="nats://127.0.0.1:4222")   # doctest: +SKIP
    >>> engine.watch([source]).run()                             # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        url: str = "nats://127.0.0.1:4222",
        stream: str = "CRMERP",
        subjects: Sequence[str] = ("crmerp.events.>",),
        durable: str = "crmerp-watch",
        ack_wait: timedelta = timedelta(seconds=30),
        create: bool = True,
        fetch: int = 100,
        startup_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subjects = list(subjects)
        self.durable = durable
        self.ack_wait = ack_wait
        self.create = create
        self.fetch = fetch
        self._timeout = startup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"JetStreamSource(stream={self.stream!r}, durable={self.durable!r})"

    def start(self, deliver: Callable[[Event], None]) -> None:
        """Connect and subscribe in a thread; returns once the consumer is ready."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            try:
                self._loop.run_until_complete(self._consume(deliver, ready, failure))
            finally:
                ready.set()
                self._loop.close()

        self._thread = threading.Thread(target=serve, name="crmerp-jetstream", daemon=True)
        self._thread.start()
        if not ready.wait(self._timeout):
            raise FatalError(f"JetStream consumer {self.durable!r} did not start in time")
        if failure:
            raise FatalError(f"JetStream at {self.url} is not usable: {failure[0]}") from failure[0]

    def stop(self) -> None:
        """Stop pulling, close the connection; unacknowledged messages stay queued."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=self._timeout)

    async def _consume(
        self,
        deliver: Callable[[Event], None],
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        import nats
        from nats.errors import TimeoutError as NatsTimeout

        self._stopping = asyncio.Event()
        try:
            nc = await nats.connect(
                self.url, connect_timeout=self._timeout, max_reconnect_attempts=3
            )
            js = nc.jetstream()
            await self._ensure_stream(js)
            subscription = await js.pull_subscribe(
                self.subjects[0],
                durable=self.durable,
                stream=self.stream,
                config=_consumer_config(self.ack_wait),
            )
        except Exception as exc:
            failure.append(exc)
            return
        ready.set()
        try:
            while not self._stopping.is_set():
                fetch = asyncio.ensure_future(subscription.fetch(self.fetch, timeout=1))
                halt = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({fetch, halt}, return_when=asyncio.FIRST_COMPLETED)
                if fetch not in done:
                    fetch.cancel()
                    break
                halt.cancel()
                try:
                    messages = fetch.result()
                except NatsTimeout:
                    continue
                for msg in messages:
                    await self._hand_in(msg, deliver)
        finally:
            await nc.close()

    async def _ensure_stream(self, js: Any) -> None:
        from nats.js.errors import NotFoundError

        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            if not self.create:
                raise
            await js.add_stream(name=self.stream, subjects=self.subjects)

    async def _hand_in(self, msg: Msg, deliver: Callable[[Event], None]) -> None:
        headers = msg.headers or {}
        delivery = headers.get("Nats-Msg-Id") or f"{self.stream}:{msg.metadata.sequence.stream}"
        try:
            event = parse_event(msg.data, delivery=delivery)
        except DataError as exc:
            log.warning("JetStream message is not an event, dropped: %s", exc.reason)
            await msg.term()
            return
        deliver(
            Event(
                entity=event.entity,
                system=event.system,
                ids=event.ids,
                delivery=event.delivery,
                at=event.at,
                ack=self._later(msg.ack),
                nak=self._later(msg.nak),
            )
        )

    def _later(self, settle: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        """``settle`` as a plain call from the watcher's thread, run on the source's loop."""

        def call() -> None:
            loop = self._loop
            if loop is None or loop.is_closed():
                return  # the connection is gone: JetStream redelivers it
            if self._thread is threading.current_thread():
                loop.create_task(settle())  # called while handing in (a repeat)
                return
            try:
                asyncio.run_coroutine_threadsafe(settle(), loop).result(self._timeout)
            except Exception as exc:
                log.warning("JetStream acknowledgement failed: %s", exc)

        return call


def _consumer_config(ack_wait: timedelta) -> Any:
    from nats.js.api import AckPolicy, ConsumerConfig

    return ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait.total_seconds())
