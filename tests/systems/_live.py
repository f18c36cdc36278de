"""What the live-system fixtures share: loading a system's modules by path, and
skipping (or, with ``CRMERP_REQUIRE_LIVE=1``, failing) when a system cannot run."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

SYSTEMS = Path(__file__).parent


def load_by_path(name: str, path: Path) -> ModuleType:
    """The module at ``path``, imported once under ``name``.

    Each system has its own ``_server.py`` and ``conftest.py``, and a plain
    ``import _server`` would return whichever was imported first, so each is
    loaded by path under a name of its own.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_server_module(system: str) -> ModuleType:
    """``tests/systems/<system>/_server.py`` as ``tests_systems_<system>_server``."""
    return load_by_path(f"tests_systems_{system}_server", SYSTEMS / system / "_server.py")


def unavailable(label: str, reason: str) -> NoReturn:
    """Skip because ``label`` (e.g. ``"BottleCRM"``) cannot run here, or fail under
    ``CRMERP_REQUIRE_LIVE=1``."""
    if os.environ.get("CRMERP_REQUIRE_LIVE") == "1":
        pytest.fail(f"CRMERP_REQUIRE_LIVE=1 but {label} cannot run: {reason}", pytrace=False)
    pytest.skip(f"{label} server not available: {reason}")
