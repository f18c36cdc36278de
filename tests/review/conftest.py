"""Fixtures for the review page: a synced small company with conflicts, and a live server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from crmerp.cli._seed import Company, seed
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeERP
from tests.cli.conftest import CONFIG

TOKEN = "review-token-5bX"
CHROMIUM = os.environ.get("CRMERP_CHROMIUM", "/usr/bin/chromium")
"""Debian's chromium package; Playwright's own browser download cannot work here."""

pytest.importorskip("starlette", reason="the review extra is not installed")


def require_browser() -> None:
    """Skip without Playwright or Chromium, or fail when CRMERP_REQUIRE_BROWSER=1."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem is None and not shutil.which(CHROMIUM):
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if os.environ.get("CRMERP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CRMERP_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)


@pytest.fixture
def company(tmp_path: Path) -> Company:
    """A small company, synced once, then renamed differently in both systems: 2 conflicts."""
    from crmerp.cli._config import load_config
    from crmerp.cli._session import open_engine, open_state_for

    crm, erp = FakeCRM(tmp_path / "crm.json"), FakeERP(tmp_path / "erp.json")
    seeded = seed(crm, erp, customers=30)
    crm.save()
    erp.save()
    (tmp_path / "crmerp.toml").write_text(
        CONFIG.replace("state.db", str(tmp_path / "state.db"))
        .replace('"crm.json"', f'"{tmp_path / "crm.json"}"')
        .replace('"erp.json"', f'"{tmp_path / "erp.json"}"')
    )
    config = load_config(tmp_path / "crmerp.toml")
    with open_state_for(config, create=True):
        pass
    with open_engine(config) as engine:
        engine.run()
    crm, erp = FakeCRM(tmp_path / "crm.json"), FakeERP(tmp_path / "erp.json")
    for crm_id, erp_id in seeded.pairs[:2]:
        crm.edit("Account", crm_id, Name=crm.read("Account", crm_id)["Name"] + " (Zentrale)")
        erp.edit(
            "party.party",
            int(erp_id),
            name=erp.read("party.party", int(erp_id))["name"] + " Holding",
        )
    crm.save()
    erp.save()
    with open_engine(config) as engine:
        engine.run()
        assert len(engine.conflicts()) == 2
    return seeded


@pytest.fixture
def open_engine(
    company: Company, tmp_path: Path
) -> Callable[[], AbstractContextManager[SyncEngine]]:
    """Opens the company's engine, as ``crmerp serve`` does per request."""
    from crmerp.cli._config import load_config
    from crmerp.cli._session import open_engine as open_configured

    config = load_config(tmp_path / "crmerp.toml")
    return lambda: open_configured(config)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:  # a real server must start: poll with a deadline
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the review server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(open_engine: Callable[[], AbstractContextManager[SyncEngine]]) -> Iterator[str]:
    """The review page of the small company, served on a free loopback port."""
    from crmerp.review import review_app

    with serving(review_app(open_engine, token=TOKEN)) as url:
        yield url
