"""A griffe extension for the API reference: docstrings in reStructuredText shown well.

The docstrings use reStructuredText roles (``:class:`~crmerp.sync.SyncEngine```,
``:meth:`run```), double-backtick literals, doctest examples (``>>>`` lines and
their output) and literal blocks (a paragraph ending in ``::`` and an indented
block), which Markdown would print as they are, the examples as nested
blockquotes run together on one line. This turns each role into inline code of the
name (its last part after a ``~``), each ````literal```` into ```literal```, each
doctest example into a fenced ``pycon`` block without its ``# doctest:``
directives, and each literal block into a fenced block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")


def plain(text: str) -> str:
    """``text`` with roles and reST literals as Markdown inline code."""

    def role(found: re.Match[str]) -> str:
        name = found.group(2).strip()
        return f"`{name.rsplit('.', 1)[-1] if found.group(1) else name}`"

    return _LITERAL.sub(r"`\1`", _ROLE.sub(role, text))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _doctest(lines: list[str], start: int) -> tuple[list[str], int]:
    """The fenced block of the doctest example at ``start``, and where it ends."""
    margin = " " * _indent(lines[start])
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    body = [_DIRECTIVE.sub("", line[len(margin) :]).rstrip() for line in lines[start:end]]
    return [f"{margin}```pycon", *(margin + b for b in body), f"{margin}```"], end


def _literal(lines: list[str], start: int) -> tuple[list[str], int]:
    """The fenced block of the reST literal block after a ``::`` line, and its end."""
    base = _indent(lines[start - 1]) if start else 0
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    block = lines[start:end]
    margin = min((_indent(b) for b in block if b.strip()), default=0)
    fenced = [" " * base + "```text", *(" " * base + b[margin:] for b in block), " " * base + "```"]
    return fenced, end


def rendered(text: str) -> str:
    """A reStructuredText docstring as the Markdown the reference pages render."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(">>>"):
            block, index = _doctest(lines, index)
            out.extend(block)
            continue
        if line.rstrip().endswith("::") and index + 1 < len(lines) and not lines[index + 1].strip():
            intro = line.rstrip()[:-2].rstrip()
            if intro.strip():
                out.append(plain(intro + ":"))
            out.append("")
            start = index + 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            block, index = _literal(lines, start)
            out.extend(block)
            continue
        out.append(plain(line))
        index += 1
    return "\n".join(out)


class RolesAsCode(griffe.Extension):
    """Rewrites every docstring once the object tree is built."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Convert the docstring of ``obj``, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = rendered(obj.docstring.value)
