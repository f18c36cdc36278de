"""Fixtures for the live BottleCRM tests: a real ``django-crm`` server per test session.

``bottlecrm_server`` skips when the server cannot run here (no Python >= 3.12,
or the install or template build failed), unless ``CRMERP_REQUIRE_LIVE=1``, in
which case it fails. The first run on a machine builds the server venv (about
35 s) and the migrated template database (about 90 s); later runs start in about
2 s. See ``_server.py`` and ``docs/systems/bottlecrm-notes.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from crmerp.adapters.bottlecrm import BottleCRMAdapter
from tests.systems._live import load_server_module, unavailable

if TYPE_CHECKING:
    from tests_systems_bottlecrm_server import BottleCRMServer


_server = load_server_module("bottlecrm")


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
        unavailable("BottleCRM", str(exc))
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
