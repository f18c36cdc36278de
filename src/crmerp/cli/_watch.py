"""``crmerp watch``: keep both systems agreeing continuously, as a service.

``SIGTERM`` and ``SIGINT`` let the batch in progress finish, release the leases
and exit 0. Log records go to stderr, one line each (``--log-format json`` for
one JSON object a line, with the structured fields).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmerp.cli._commands import ConfigOption, DebugOption, EntityOption, _loaded, _open_engine
from crmerp.cli._exit import ExitCode
from crmerp.cli._output import Output

if TYPE_CHECKING:
    from crmerp.service import EventSource

__all__ = ["SECRET_ENV", "watch"]

SECRET_ENV = "CRMERP_WEBHOOK_SECRET"
"""The environment variable holding the webhook's shared secret (never a flag:
flags show in the process list)."""

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            (k, v) for k, v in vars(record).items() if k not in _STANDARD and k != "message"
        )
        return json.dumps(payload, default=str)


def _logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger("crmerp")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise typer.BadParameter(f"{text!r} is not HOST:PORT", param_hint="--listen")
    return host or "127.0.0.1", int(port)


def _sources(
    out: Output, listen: str | None, max_body: int, nats: str | None, nats_stream: str
) -> list[EventSource]:
    from crmerp.service import JetStreamSource, WebhookSource

    sources: list[EventSource] = []
    if listen is not None:
        secret = os.environ.get(SECRET_ENV, "")
        if not secret:
            out.fail(f"--listen needs the webhook's shared secret in ${SECRET_ENV}", ExitCode.USAGE)
        host, port = _listen(listen)
        sources.append(WebhookSource(secret=secret, host=host, port=port, max_body=max_body))
    if nats is not None:
        sources.append(JetStreamSource(url=nats, stream=nats_stream))
    return sources


def watch(
    config: ConfigOption = None,
    entity: EntityOption = None,
    heartbeat: Annotated[
        float, typer.Option(help="Seconds between polls of every entity.", min=0.001)
    ] = 30.0,
    window: Annotated[
        float, typer.Option(help="Milliseconds to gather events into one batch.", min=0)
    ] = 100.0,
    reconcile_every: Annotated[
        float,
        typer.Option(help="Hours between full reconciles (0: never).", min=0),
    ] = 24.0,
    listen: Annotated[
        str | None,
        typer.Option(
            help="Serve the webhook, /healthz and /metrics on HOST:PORT "
            f"(the shared secret in ${SECRET_ENV}).",
        ),
    ] = None,
    max_body: Annotated[
        int, typer.Option(help="Largest webhook body accepted, in bytes.", min=1)
    ] = 64 * 1024,
    nats: Annotated[
        str | None, typer.Option(help="Read events from NATS JetStream at this URL.")
    ] = None,
    nats_stream: Annotated[str, typer.Option(help="The JetStream stream.")] = "CRMERP",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    log_format: Annotated[str, typer.Option(help="text or json (one object a line).")] = "text",
    debug: DebugOption = False,
) -> None:
    """Keep both systems agreeing continuously: run what events name, poll every
    --heartbeat, reconcile on a schedule. SIGTERM or SIGINT ends it cleanly (exit 0).
    """
    from crmerp.service import WatchMetrics

    out = Output(debug=debug)
    _logging(log_level, log_format)
    with out.guarded():
        loaded = _loaded(out, config)
        sources = _sources(out, listen, max_body, nats, nats_stream)
        with _open_engine(loaded) as engine:
            watcher = engine.watch(
                sources,
                entities=entity or None,
                heartbeat=timedelta(seconds=heartbeat),
                window=timedelta(milliseconds=window),
                reconcile_every=timedelta(hours=reconcile_every) if reconcile_every else None,
                metrics=WatchMetrics(),
            )
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda _signum, _frame: watcher.stop())
            watcher.run()
    raise typer.Exit(int(ExitCode.OK))
