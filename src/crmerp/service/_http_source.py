"""The webhook endpoint: systems post events to it; it also answers health and metrics.

Built on Starlette (a small, well-kept ASGI framework) and served by uvicorn, in a
thread of its own, so the endpoint answers while a batch runs: a delivery is
checked, parsed and queued, never waits for the sync.

========================  ==================================================================
request                   answer
========================  ==================================================================
``POST /events``          202 queued (or a repeat, dropped); 401 without a valid
                          signature; 413 over ``max_body`` bytes; 400 not an event
``GET /healthz``          200 ``{"ok": true, ...}`` when the watcher is well, else 503
``GET /metrics``          the Prometheus text format
========================  ==================================================================

The signature is ``X-Crmerp-Signature: sha256=<hex HMAC-SHA256 of the body>`` under
the shared secret; ``X-Crmerp-Delivery`` (or the body's ``id``) names the delivery
so a repeat is dropped. ``?entity=customer`` names the entity for a sender that
cannot shape the body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from crmerp._errors import DataError, FatalError, UsageError
from crmerp.adapters import ENTITIES
from crmerp.service._events import SIGNATURE_HEADER, Event, parse_event, signature_ok

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from crmerp.service._watch import Watcher

__all__ = ["WebhookSource", "webhook_app"]

DELIVERY_HEADER = "x-crmerp-delivery"


class _TooLarge(Exception):
    pass


def webhook_app(
    deliver: Callable[[Event], None],
    *,
    secret: str,
    max_body: int = 64 * 1024,
    watcher: Watcher | None = None,
) -> Starlette:
    """The ASGI application of the endpoint (served by :class:`WebhookSource`;
    tests call it in-process). ``watcher`` answers ``/healthz`` and ``/metrics``."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    if not secret:
        raise UsageError("the webhook needs a shared secret", code="webhook-secret")

    async def events(request: Request) -> Response:
        try:
            body = await _body(request, max_body)
        except _TooLarge:
            return JSONResponse({"error": f"body over {max_body} bytes"}, status_code=413)
        if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
            return JSONResponse({"error": "bad or missing signature"}, status_code=401)
        try:
            event = parse_event(body, delivery=request.headers.get(DELIVERY_HEADER))
            entity = request.query_params.get("entity")
            if entity is not None and event.entity is None:
                if entity not in ENTITIES:
                    raise DataError(f"unknown entity {entity!r}", field="entity")
                event = attrs.evolve(event, entity=entity)
        except DataError as exc:
            return JSONResponse({"error": exc.reason}, status_code=400)
        deliver(event)
        return JSONResponse({"queued": True}, status_code=202)

    async def healthz(_request: Request) -> Response:
        if watcher is None:
            return JSONResponse({"ok": True, "status": "ok"})
        health = watcher.health()
        return JSONResponse(health.to_dict(), status_code=200 if health.ok else 503)

    async def metrics(_request: Request) -> Response:
        if watcher is None or watcher.metrics is None:
            return Response("", media_type="text/plain")
        return Response(watcher.metrics.render(), media_type=watcher.metrics.content_type)

    return Starlette(
        routes=[
            Route("/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes (whatever it claims)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookSource:
    """An event source: the webhook endpoint on ``host:port`` (``port=0``: any free one).

    Needs the ``service`` extra. The watcher binds itself first, so the endpoint
    answers ``/healthz`` and ``/metrics`` for it.

    >>> source = WebhookSource(secret="s3cret", port=8787)   # doctest: +SKIP
    >>> engine.watch([source]).run()                          # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 8787,
        max_body: int = 64 * 1024,
        startup_timeout: float = 10.0,
    ) -> None:
        if not secret:
            raise UsageError("the webhook needs a shared secret", code="webhook-secret")
        self.host = host
        self.port = port
        """The port served (the one chosen, once started with ``port=0``)."""
        self.max_body = max_body
        self._secret = secret
        self._timeout = startup_timeout
        self._watcher: Watcher | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never shows the secret
        return f"WebhookSource(host={self.host!r}, port={self.port})"

    def bind(self, watcher: Watcher) -> None:
        """Serve ``watcher``'s health and metrics too."""
        self._watcher = watcher

    def start(self, deliver: Callable[[Event], None]) -> None:
        """Serve in a thread; returns once the socket listens."""
        import uvicorn

        app = webhook_app(
            deliver, secret=self._secret, max_body=self.max_body, watcher=self._watcher
        )
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="crmerp-webhook", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not server.started:  # a real server must start: poll with a deadline
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise FatalError(f"the webhook endpoint did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self._timeout)
