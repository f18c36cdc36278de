"""Fixtures of every live system, for tests that use more than one (the end-to-end test).

Each system's ``conftest.py`` is loaded by path under a unique name (they share
module names like ``_server``) and its fixtures are re-exported here. Tests
inside a system's directory keep using that directory's own fixtures, so a
session running both gets one server of each kind per fixture definition.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load(system: str) -> ModuleType:
    name = f"tests_systems_{system}_conftest"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).with_name(system) / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_bottlecrm = _load("bottlecrm")
bottlecrm_server = _bottlecrm.bottlecrm_server

if (Path(__file__).with_name("tryton") / "conftest.py").exists():
    _tryton = _load("tryton")
    tryton_server = _tryton.tryton_server
    tryton_adapter = _tryton.tryton_adapter
