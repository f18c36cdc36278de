"""Where the command writes: readable text for people, JSON for programs, errors apart.

Readable output goes to stdout through rich; ``--json`` prints one JSON document
to stdout instead. Progress and errors go to stderr, so a script piping stdout
gets only the result. Every text shown passes through ``redact`` so a secret read
from the environment is never printed.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from crmerp._errors import ConfigError, CrmErpError, StateCorrupt, UsageError
from crmerp.cli._exit import ExitCode

__all__ = ["Output", "to_json"]


def _identity(text: str) -> str:
    return text


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json(payload: Any) -> str:
    """``payload`` as indented JSON; Decimals as exact strings, datetimes in ISO 8601."""
    return json.dumps(payload, indent=2, default=_json_default, ensure_ascii=False)


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120
    return console


class Output:
    """The output of one command invocation."""

    def __init__(self, *, as_json: bool = False, debug: bool = False) -> None:
        self.as_json = as_json
        self.debug = debug
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)
        self.redact: Callable[[str], str] = _identity
        self.config_flag = ""
        """`` -c PATH`` when the config was named, so suggested commands can be pasted."""

    def command(self, text: str) -> str:
        """A ``crmerp ...`` command line to suggest, with the config flag in use."""
        return f"crmerp {text}{self.config_flag}"

    # --- writing ------------------------------------------------------------------------

    def show(self, *items: RenderableType | str) -> None:
        """Print readable output (nothing with ``--json``); strings are plain text."""
        if self.as_json:
            return
        for item in items:
            self.out.print(self.text(item) if isinstance(item, str) else item)

    def text(self, value: Any, style: str = "") -> Text:
        """``value`` as plain (unmarked-up), redacted rich text."""
        return Text(self.redact(str(value)), style=style)

    def json(self, payload: Any) -> None:
        """Print ``payload`` as JSON (only with ``--json``)."""
        if self.as_json:
            sys.stdout.write(self.redact(to_json(payload)) + "\n")
            sys.stdout.flush()

    def note(self, message: str) -> None:
        """A remark for people on stderr (progress, hints); silent with ``--json``."""
        if not self.as_json:
            self.err.print(self.text(message, "dim"))

    def error(self, message: str) -> None:
        """An error message on stderr."""
        self.err.print(Text("error: ", style="bold red") + self.text(message))

    # --- failing ------------------------------------------------------------------------

    def fail(self, message: str, code: ExitCode = ExitCode.FAILURE) -> NoReturn:
        """Print ``message`` as an error and exit with ``code``."""
        self.error(message)
        raise typer.Exit(int(code))

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """Turn crmerp errors into an error line and exit code 1 (a traceback with --debug)."""
        try:
            yield
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except ConfigError as exc:
            self._failed(exc, _message(exc))
        except StateCorrupt as exc:  # name the config in the commands it suggests
            message = str(exc)
            for step in ("state rebaseline", "init --rebaseline"):
                message = message.replace(f"`crmerp {step}`", f"`{self.command(step)}`")
            self._failed(exc, message)
        except UsageError as exc:  # a wrong argument (an unknown id, a bad pick)
            hint = _NEXT_STEP.get(exc.code)
            message = _message(exc) + (f"; see `{self.command(hint)}`" if hint else "")
            self._failed(exc, message, ExitCode.USAGE)
        except CrmErpError as exc:
            self._failed(exc, _message(exc))
        except OSError as exc:
            self._failed(
                exc, f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
            )
        except Exception as exc:  # a bug: say so, keep the traceback for --debug
            self._failed(
                exc,
                f"internal error ({type(exc).__name__}): {exc}; "
                "run again with --debug for the traceback",
            )

    def _failed(
        self, exc: BaseException, message: str, code: ExitCode = ExitCode.FAILURE
    ) -> NoReturn:
        if self.debug:
            self.err.print(
                self.redact("".join(traceback.format_exception(exc))), markup=False, highlight=False
            )
        self.fail(message, code)


_NEXT_STEP = {
    "resolve-unknown": "conflicts list --all",
    "resolve-settled": "conflicts list --all",
    "quarantine-unknown": "quarantine list",
}
"""The command that shows what a usage error's argument should have been."""


def _message(exc: CrmErpError) -> str:
    """The error's message for people: without the ``[code]`` tag of usage errors."""
    text = str(exc)
    code = getattr(exc, "code", None)
    return text.removesuffix(f" [{code}]") if isinstance(exc, UsageError) and code else text
