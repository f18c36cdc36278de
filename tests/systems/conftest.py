"""Fixtures of every live system, for tests that use more than one (the end-to-end test).

Each system's ``conftest.py`` is loaded by path under a unique name (they share
module names like ``_server``) and its fixtures are re-exported here. Tests
inside a system's directory keep using that directory's own fixtures, so a
session running both gets one server of each kind per fixture definition.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from tests.systems._live import load_by_path


def _load(system: str) -> ModuleType:
    path = Path(__file__).with_name(system) / "conftest.py"
    return load_by_path(f"tests_systems_{system}_conftest", path)


def _is_fixture(value: object) -> bool:
    # pytest >= 8.4 wraps fixtures in FixtureFunctionDefinition; older ones mark functions.
    return (
        type(value).__name__ == "FixtureFunctionDefinition"
        or getattr(value, "_pytestfixturefunction", None) is not None
    )


for _system in ("bottlecrm", "tryton"):
    if (Path(__file__).with_name(_system) / "conftest.py").exists():
        for _name, _value in vars(_load(_system)).items():
            if not _name.startswith("_") and _is_fixture(_value):
                globals()[_name] = _value
