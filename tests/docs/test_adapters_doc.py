"""The code in docs/adapters.md runs: every python block, in order, in one namespace."""

import linecache
import re
from pathlib import Path

import pytest

from crmerp.adapters import _registry

PAGE = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    """The python code blocks of a Markdown page, in order."""
    return BLOCK.findall(text)


def test_the_page_has_code_to_run() -> None:
    assert len(python_blocks(PAGE.read_text(encoding="utf-8"))) >= 10


def test_the_adapter_walkthrough_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # The page registers an adapter by name; keep that out of the global registry.
    monkeypatch.setattr(_registry, "_registered", dict(_registry._registered))
    namespace: dict[str, object] = {"__name__": "docs_adapters"}
    for number, block in enumerate(python_blocks(PAGE.read_text(encoding="utf-8")), 1):
        name = f"{PAGE.name} block {number}"
        linecache.cache[name] = (len(block), None, block.splitlines(True), name)  # tracebacks
        exec(compile(block, name, "exec"), namespace)
    assert "NotebookAdapter" in namespace
