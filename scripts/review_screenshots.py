"""Screenshots of the review page on the demo's data, for the docs.

    python scripts/review_screenshots.py [docs/images]

Runs ``crmerp demo`` in a temporary folder, serves the review page on a free
loopback port and photographs the list and the first conflict with headless
Chromium (Debian's ``chromium`` package, driven by Playwright).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from crmerp.cli import app, load_config
from crmerp.cli._session import open_engine
from crmerp.review import review_app

CHROMIUM = os.environ.get("CRMERP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        CliRunner().invoke(app, ["demo", "--dir", folder], catch_exceptions=False)
        config = load_config(Path(folder) / "crmerp-demo.toml")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                review_app(lambda: open_engine(config), token="demo"),
                port=port,
                log_level="warning",
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(
                http_credentials={"username": "anna", "password": "demo"},
                viewport={"width": 1100, "height": 760},
            ).new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.screenshot(path=str(target / "review-list.png"), full_page=True)
            page.get_by_role("link", name="settle").first.click()
            page.screenshot(path=str(target / "review-conflict.png"), full_page=True)
            browser.close()
        server.should_exit = True
    print(f"wrote {target / 'review-list.png'} and {target / 'review-conflict.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))
