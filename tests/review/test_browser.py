"""The review page in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crmerp.cli import app, load_config
from crmerp.sync import SyncEngine
from tests.review.conftest import CHROMIUM, TOKEN, require_browser, serving

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser_page(server: str) -> Iterator[Any]:
    """A Chromium page logged in to the review server as ``anna``."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": "anna", "password": TOKEN})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_a_person_settles_every_conflict_in_the_browser_and_the_sync_applies_it(
    server: str,
    browser_page: Any,
    open_engine: Callable[[], AbstractContextManager[SyncEngine]],
) -> None:
    page = browser_page
    page.goto(server)
    assert page.get_by_role("heading", name="Waiting for a person").is_visible()
    assert page.locator("#conflicts tbody tr").count() == 2

    page.get_by_role("link", name="settle").first.click()
    page.get_by_role("button", name="Take the CRM's value").click()
    assert "settled" in page.get_by_role("status").inner_text()

    page.get_by_role("link", name="settle").first.click()
    page.get_by_label("your value").fill("Catering Roth GmbH")
    page.get_by_role("button", name="Use this value").click()
    assert page.locator("#conflicts").count() == 0
    assert "No conflict is open" in page.content()

    with open_engine() as engine:
        engine.run()
        assert engine.conflicts() == []
        decided = {
            change.origin
            for c in engine.conflicts(None)
            for change in engine.history(c.entity, c.global_id).changes
            if change.rule.startswith("decided:")
        }
    assert decided == {"person:anna"}


def test_a_new_user_settles_the_demos_conflicts_and_the_next_sync_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's walk: demo, review page, settle, sync: 0 open conflicts."""
    require_browser()
    from playwright.sync_api import sync_playwright

    from crmerp.cli._session import open_engine
    from crmerp.review import review_app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["demo"], catch_exceptions=False).exit_code == 0
    config = load_config(tmp_path / "crmerp-demo.toml")

    with (
        serving(review_app(lambda: open_engine(config), token=TOKEN)) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(
            http_credentials={"username": "anna", "password": TOKEN}
        ).new_page()
        page.goto(url)
        while page.get_by_role("link", name="settle").count():
            page.get_by_role("link", name="settle").first.click()
            page.get_by_role("button", name="Take the ERP's value").click()
        browser.close()

    synced = runner.invoke(app, ["sync", "-c", "crmerp-demo.toml", "--json"])
    assert json.loads(synced.stdout)["open_conflicts"] == 0
