"""Fixtures for the live BottleCRM tests: a real ``django-crm`` server per test session.

``bottlecrm_server`` skips when the server cannot run here (no Python >= 3.12,
or the install or template build failed), unless ``CRMERP_REQUIRE_LIVE=1``, in
which case it fails. The first run on a machine builds the server venv (about
35 s) and the migrated template database (about 90 s); later runs start in about
2 s. See ``_server.py`` and ``docs/systems/bottlecrm-notes.md``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from crmerp.adapters.bottlecrm import BottleCRMAdapter

if TYPE_CHECKING:
    from tests_systems_bottlecrm_server import BottleCRMServer


def _load_server_module() -> ModuleType:
    # Loaded by path under a unique name: other systems have a ``_server.py`` too,
    # and a plain ``import _server`` would return whichever was imported first.
    name = "tests_systems_bottlecrm_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_server.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_server = _load_server_module()


def _unavailable(reason: str) -> None:
    if os.environ.get("CRMERP_REQUIRE_LIVE") == "1":
        pytest.fail(f"CRMERP_REQUIRE_LIVE=1 but BottleCRM cannot run: {reason}", pytrace=False)
    pytest.skip(f"BottleCRM server not available: {reason}")


@pytest.fixture(scope="session")
def bottlecrm_server() -> Iterator[BottleCRMServer]:
    """A running BottleCRM on a private copy of the cached template database.

    Yields a ``BottleCRMServer`` with ``base_url``, ``token`` (a personal access
    token of an ADMIN profile; it carries the org, so no org header is needed),
    ``org_id``, ``profile_id``, ``user_email``, ``log_path`` and ``timings``.
    """
    try:
        running = _server.start_server()
    except _server.BottleCRMUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield running.server
    finally:
        _server.stop_server(running)


@pytest.fixture
def bottlecrm(bottlecrm_server: BottleCRMServer) -> Iterator[BottleCRMAdapter]:
    """A fresh :class:`BottleCRMAdapter` on the session's server (shared by all tests,
    so tests tag the names they create)."""
    adapter = BottleCRMAdapter(
        bottlecrm_server.base_url, bottlecrm_server.token, default_currency="EUR"
    )
    try:
        yield adapter
    finally:
        adapter.close()
