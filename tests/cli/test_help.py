"""Every command and option explains itself."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from crmerp import __version__
from crmerp.cli import app
from tests.cli.conftest import Invoke


# typer ships its own copy of click, so commands are recognised by what they do.
def _sub(group: Any, name: str) -> Any:
    command = group.get_command(group.context_class(group), name)
    assert command is not None
    return command


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(group, "list_commands"):
        for name in group.list_commands(group.context_class(group)):
            found += _commands(_sub(group, name), (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_there() -> None:
    assert set(COMMANDS) >= {
        (),
        ("demo",),
        ("init",),
        ("plan",),
        ("sync",),
        ("status",),
        ("conflicts",),
        ("conflicts", "list"),
        ("conflicts", "show"),
        ("conflicts", "resolve"),
        ("quarantine",),
        ("quarantine", "list"),
        ("quarantine", "retry"),
        ("history",),
        ("serve",),
        ("state",),
        ("state", "rebaseline"),
    }


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crmerp")
def test_every_command_and_option_has_help(path: tuple[str, ...], invoke: Invoke) -> None:
    command = typer.main.get_command(app)
    for name in path:
        command = _sub(command, name)
    assert (command.help or "").strip(), f"{path} has no help"
    for param in command.params:
        if param.param_type_name == "option":
            assert (param.help or "").strip(), f"{path} option {param.opts} has no help"

    result = invoke(*path, "--help")

    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_the_top_help_names_the_exit_codes(invoke: Invoke) -> None:
    text = invoke("--help").stdout

    assert "3 conflicts open" in " ".join(text.split())
    assert "demo" in text


def test_version(invoke: Invoke) -> None:
    assert invoke("--version").stdout.strip() == f"crmerp {__version__}"
