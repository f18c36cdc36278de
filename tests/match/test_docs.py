"""The python examples of docs/matching.md run, in order, in one namespace."""

import linecache
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "matching.md"
BLOCK = re.compile(r"^ *```python\n(.*?)^ *```$", re.DOTALL | re.MULTILINE)


def test_the_matching_page_runs() -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"__name__": "docs_matching", "print": lambda *a: None}
    for number, block in enumerate(blocks, 1):
        code = "\n".join(line.removeprefix("  ") for line in block.splitlines())
        name = f"{PAGE.name} block {number}"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        exec(compile(code, name, "exec"), namespace)
