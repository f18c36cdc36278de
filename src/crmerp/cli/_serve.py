"""``crmerp serve``: the review page for the people who settle conflicts."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

from crmerp.cli._commands import ConfigOption, DebugOption, _loaded
from crmerp.cli._exit import ExitCode
from crmerp.cli._output import Output

__all__ = ["TOKEN_ENV", "serve"]

TOKEN_ENV = "CRMERP_REVIEW_TOKEN"
"""The environment variable holding the review page's token."""


def serve(
    config: ConfigOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="The address to listen on (keep 127.0.0.1 unless a TLS proxy sits in front).",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="The port to listen on.")] = 8765,
    debug: DebugOption = False,
) -> None:
    """Serve the review page: open conflicts, match reviews and quarantine, settled in a browser.

    People log in with their name and the token (from $CRMERP_REVIEW_TOKEN, or
    a new one printed at start); every decision goes into the audit trail with
    that name, and the next `crmerp sync` writes it. Stop with Ctrl+C.
    """
    out = Output(debug=debug)
    with out.guarded():
        try:
            import uvicorn

            from crmerp.review import review_app
        except ImportError as exc:
            out.fail(
                f"the review page needs the review extra ({exc.name} is missing): "
                "pip install 'crmerp[review]'",
            )
        loaded = _loaded(out, config)
        from crmerp.cli._session import open_engine

        with open_engine(loaded):  # fail now, in the terminal, if the config is wrong
            pass
        token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(18)
        app = review_app(lambda: open_engine(loaded), token=token)
        shown = "$" + TOKEN_ENV if os.environ.get(TOKEN_ENV) else token
        out.show(
            f"Review page on http://{host}:{port}/ : log in with your name and the token {shown}",
            "Decisions apply at the next sync. Stop with Ctrl+C.",
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")
    raise typer.Exit(int(ExitCode.OK))
