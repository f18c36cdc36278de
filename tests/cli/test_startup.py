"""`crmerp --help` stays quick: building the app and showing help leave the library unloaded.

The engine, the state, the adapters, the models and the demo's data are imported
when a command runs, not when ``crmerp`` is asked what it can do. Each check runs
in a fresh interpreter, since this test session has long imported all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

# What only a running command needs; loading any of these costs seconds.
LIBRARY = (
    "crmerp.adapters",
    "crmerp.match",
    "crmerp.models",
    "crmerp.state",
    "crmerp.sync",
    "crmerp.testing",
    "crmerp.cli._demo_run",
    "crmerp.cli._seed",
    "crmerp.cli._session",
    "sqlalchemy",
    "stdnum",
)
# typer itself imports pydantic to check a sub-command's option values, so
# pydantic is only kept out of building the app and the top-level help.
PYDANTIC = ("pydantic", "pydantic_core")

COMMANDS = [
    ["demo"],
    ["init"],
    ["plan"],
    ["sync"],
    ["status"],
    ["conflicts"],
    ["conflicts", "list"],
    ["conflicts", "show"],
    ["conflicts", "resolve"],
    ["quarantine"],
    ["quarantine", "list"],
    ["quarantine", "retry"],
]

# Imports the public names, builds the app, then runs `crmerp ARGS` for each ARGS
# given, noting the exit code and the modules loaded so far after each.
_PROBE = """
import json, sys
import typer
from crmerp.cli import Config, ExitCode, SystemConfig, app, load_config, main

steps = [{"args": None, "code": None, "modules": sorted(sys.modules)}]
typer.main.get_command(app)
steps.append({"args": [], "code": None, "modules": sorted(sys.modules)})
for args in json.loads(sys.argv[1]):
    sys.argv = ["crmerp", *args]
    try:
        main()
    except SystemExit as exc:
        steps.append({"args": args, "code": exc.code, "modules": sorted(sys.modules)})
print(json.dumps(steps))
"""


def _probe(*runs: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(runs)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    steps: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return steps


def _heavy(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names)]


def test_importing_and_building_the_app_load_no_library_module() -> None:
    imported, built = _probe()
    assert _heavy(imported["modules"], LIBRARY + PYDANTIC) == []
    assert _heavy(built["modules"], LIBRARY + PYDANTIC) == []


def test_the_top_level_help_loads_no_library_module() -> None:
    _imported, _built, *runs = _probe(["--help"], [], ["--version"])
    assert [run["code"] for run in runs] == [0, 2, 0]
    for run in runs:
        assert _heavy(run["modules"], LIBRARY + PYDANTIC) == [], run["args"]


def test_every_command_help_loads_no_library_module() -> None:
    _imported, _built, *runs = _probe(*([*command, "--help"] for command in COMMANDS))
    assert [run["args"] for run in runs] == [[*command, "--help"] for command in COMMANDS]
    for run in runs:
        assert run["code"] == 0, run["args"]
        assert _heavy(run["modules"], LIBRARY) == [], run["args"]
