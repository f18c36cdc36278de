"""Fixtures for the live Tryton tests: a real trytond 8.2 per test session.

``tryton_server`` skips when trytond cannot run here, unless
``CRMERP_REQUIRE_LIVE=1``, in which case it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.systems._live import load_server_module, unavailable

_server = load_server_module("tryton")


@pytest.fixture(scope="session")
def tryton_template() -> Any:
    """The cached template database (built on first use), or a skip/fail."""
    try:
        versions = _server.probe()
    except _server.TrytonUnavailable as exc:
        unavailable("Tryton", str(exc))
    return _server.ensure_template(versions)


@pytest.fixture(scope="session")
def tryton_server(tmp_path_factory: pytest.TempPathFactory, tryton_template: Any) -> Iterator[Any]:
    """A running trytond on a private copy of the cached template database.

    Yields a ``TrytonServer`` with ``url``, ``database``, ``username``,
    ``password`` and ``refs`` (ids of the company, price list, payment term,
    accounting category, ... made by the template build).
    """
    server = _server.start_server(tmp_path_factory.mktemp("tryton"), tryton_template)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_tryton_server(tmp_path: Path, tryton_template: Any) -> Iterator[Any]:
    """A trytond of its own on a fresh copy of the template (about a second to start),
    for tests that read whole tables and need them to hold only what they wrote."""
    server = _server.start_server(tmp_path / "tryton", tryton_template)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tryton_adapter(tryton_server: Any) -> Iterator[Any]:
    """A :class:`TrytonAdapter` on the session's server.

    ``settle_seconds=0``: the tests are the only writers, so the feed may read up
    to "now"; products it creates get the template's accounting category.
    """
    from crmerp.adapters.tryton import TrytonAdapter

    adapter = TrytonAdapter(
        tryton_server.url,
        tryton_server.database,
        tryton_server.username,
        tryton_server.password,
        settle_seconds=0,
        product_defaults={"account_category": tryton_server.refs["account_category"]},
    )
    try:
        yield adapter
    finally:
        adapter.close()
