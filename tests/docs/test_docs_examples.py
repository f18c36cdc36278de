"""The python examples in README.md and the docs run, so they cannot go stale.

Each page's ```python blocks run in order, in one namespace, in an empty working
directory. A block whose fence carries a title (```python title="app.py") or
that follows an ``<!-- no-run -->`` comment is shown, not run: it needs a server
or is a fragment. Pages other helpers own run in their own tests.
"""

from __future__ import annotations

import linecache
import re
import textwrap
from pathlib import Path

import pytest

from crmerp.adapters import _registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OWNED_ELSEWHERE = {"adapters.md", "matching.md", "reliability.md"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)$")


def _pages() -> list[Path]:
    pages = [ROOT / "README.md"]
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS)
        if relative.parts[0] in {"systems", "reference"} or str(relative) in OWNED_ELSEWHERE:
            continue
        pages.append(page)
    return pages


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line, code)`` of each runnable python block of a Markdown page."""
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        info = opened.group("info").strip()
        language = info.split(maxsplit=1)[0] if info else ""
        if language == "python" and "title=" not in info and not _no_run(lines, index):
            code = textwrap.dedent("\n".join(lines[index + 1 : end]))
            blocks.append((index + 2, code + "\n"))
        index = end + 1
    return blocks


def _no_run(lines: list[str], fence: int) -> bool:
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    return before >= 0 and lines[before].strip() == "<!-- no-run -->"


PAGES = [p for p in _pages() if python_blocks(p.read_text(encoding="utf-8"))]


def test_the_guides_and_readme_have_examples_to_run() -> None:
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {
        "README.md",
        "docs/guides/embed.md",
        "docs/guides/rules.md",
        "docs/guides/conflicts.md",
        "docs/concepts.md",
    } <= names


def test_the_block_finder_honours_titles_and_no_run() -> None:
    text = (
        "```python\nx = 1\n```\n\n<!-- no-run -->\n```python\nserver()\n```\n"
        '```python title="app.py"\nfragment\n```\n  ```python\n  y = 2\n  ```\n'
    )
    assert python_blocks(text) == [(2, "x = 1\n"), (13, "y = 2\n")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_registry, "_registered", dict(_registry._registered))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for line, code in python_blocks(page.read_text(encoding="utf-8")):
        name = f"{page.relative_to(ROOT)}:{line}"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        exec(compile(code, name, "exec"), namespace)


def test_the_readme_example_runs_again_in_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # a reader who runs it a second time, where it left its files
        namespace: dict[str, object] = {"__name__": "docs_readme_again"}
        for _line, code in python_blocks((ROOT / "README.md").read_text(encoding="utf-8")):
            exec(compile(code, "README.md", "exec"), namespace)
