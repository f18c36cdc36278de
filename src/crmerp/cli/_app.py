"""The ``crmerp`` command: one typer application with its sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from crmerp import __version__
from crmerp.cli import _commands as commands
from crmerp.cli._demo import demo
from crmerp.cli._help import Command, Group
from crmerp.cli._history import history
from crmerp.cli._serve import serve
from crmerp.cli._state_commands import state_rebaseline
from crmerp.cli._watch import watch

__all__ = ["app", "main"]

_EPILOG = (
    "Start with `crmerp demo`. With your own systems: write a crmerp.toml, "
    "then `crmerp init`, `crmerp plan`, `crmerp sync`.\n\n"
    "Exit codes: 0 clean; 1 failure; 2 usage error; 3 conflicts open; "
    "4 records quarantined (1 and 2 win over 3, 3 wins over 4)."
)

app = typer.Typer(
    name="crmerp",
    cls=Group,
    help="Keep a CRM and an ERP in agreement.",
    epilog=_EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a traceback must never show locals (secrets)
    context_settings={"help_option_names": ["-h", "--help"]},
)
"""The typer application behind the ``crmerp`` command."""

conflicts_app = typer.Typer(
    cls=Group, help="Conflicts waiting for a person: list, show, resolve.", no_args_is_help=True
)
state_app = typer.Typer(
    cls=Group, help="The sync state itself: rebaseline after a restore.", no_args_is_help=True
)
quarantine_app = typer.Typer(
    cls=Group,
    help="Records set aside because their data is bad: list, retry.",
    no_args_is_help=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmerp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Keep a CRM and an ERP in agreement."""


app.command(cls=Command)(demo)
app.command(cls=Command)(commands.init)
app.command(cls=Command)(commands.plan)
app.command(cls=Command)(commands.sync)
app.command(cls=Command)(commands.status)
app.command(cls=Command)(history)
app.command(cls=Command)(serve)
conflicts_app.command("list", cls=Command)(commands.conflicts_list)
conflicts_app.command("show", cls=Command)(commands.conflicts_show)
conflicts_app.command("resolve", cls=Command)(commands.conflicts_resolve)
quarantine_app.command("list", cls=Command)(commands.quarantine_list)
quarantine_app.command("retry", cls=Command)(commands.quarantine_retry)
app.command(cls=Command)(watch)
app.add_typer(conflicts_app, name="conflicts")
app.add_typer(quarantine_app, name="quarantine")
state_app.command("rebaseline", cls=Command)(state_rebaseline)
app.add_typer(state_app, name="state")


def main() -> None:
    """Run the ``crmerp`` command (the console-script entry point)."""
    app(prog_name="crmerp")
