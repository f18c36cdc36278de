"""The API reference renders docstring examples as code, not as nested blockquotes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as CI builds it."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    folder = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "--site-dir", str(folder)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return folder


def test_the_sync_reference_shows_examples_as_code_blocks(site: Path) -> None:
    page = (site / "reference" / "sync" / "index.html").read_text(encoding="utf-8")

    blocks = re.findall(r"<pre>.*?</pre>", page, flags=re.DOTALL)
    examples = [b for b in blocks if "&gt;&gt;&gt; " in b]
    assert examples, "no docstring example rendered as a code block"
    assert all("<code>" in b for b in examples)
    assert "<blockquote>" not in page
    assert "doctest:" not in page


def test_literal_blocks_are_code_too(site: Path) -> None:
    page = (site / "reference" / "state" / "index.html").read_text(encoding="utf-8")

    assert "<blockquote>" not in page
    assert "scope::" not in page
    assert re.search(r"<pre>.*?state\.transaction.*?</pre>", page, flags=re.DOTALL)
