"""Find the line where each key of a TOML document is defined, for error messages.

``tomllib`` gives values but no positions. :class:`TomlLocator` scans the text
once and remembers, for every dotted key path, the line that defines it: table
headers, ``key = value`` lines, dotted keys and keys inside inline tables.

>>> text = '[crm]\\nadapter = "fake-crm"\\nsettings = { url = "x" }\\n'
>>> where = TomlLocator(text)
>>> where.line_of("crm.adapter"), where.line_of("crm.settings.url")
(2, 3)
>>> where.line_of("crm.settings.token")  # not there: its nearest parent
3
"""

from __future__ import annotations

import re

__all__ = ["TomlLocator"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class TomlLocator:
    """Line numbers (from 1) of the keys and tables in a TOML text."""

    def __init__(self, text: str) -> None:
        self.lines: dict[str, int] = {}
        self._scan(text)

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` (dotted), else of its nearest parent that is written."""
        parts = key.split(".") if key else []
        while parts:
            found = self.lines.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None

    # --- scanning -----------------------------------------------------------------------

    def _scan(self, text: str) -> None:
        table: list[str] = []
        arrays: dict[str, int] = {}
        pending = ""  # a value that continues on the next lines (arrays, strings)
        for number, raw in enumerate(text.splitlines(), start=1):
            if pending:
                pending = _continues(pending + "\n" + raw)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                table = self._header(line, number, arrays)
                continue
            pending = self._assignment(line, table, number)

    def _header(self, line: str, number: int, arrays: dict[str, int]) -> list[str]:
        is_array = line.startswith("[[")
        inner = line[2:] if is_array else line[1:]
        keys, _rest = _read_key(inner)
        dotted = ".".join(keys)
        if is_array:
            index = arrays.get(dotted, -1) + 1
            arrays[dotted] = index
            keys = [*keys, str(index)]
            self._remember(keys[:-1], number)
        self._remember(keys, number)
        return keys

    def _assignment(self, line: str, table: list[str], number: int) -> str:
        keys, rest = _read_key(line)
        if not keys or not rest.startswith("="):
            return ""
        path = [*table, *keys]
        self._remember(path, number)
        value = rest[1:].strip()
        if value.startswith("{"):
            self._inline(value, path, number)
        return _continues(value)

    def _inline(self, value: str, path: list[str], number: int) -> None:
        """Record the keys of an inline table written on one line."""
        stack = [path]
        position = 1
        expect_key = True
        while position < len(value) and stack:
            char = value[position]
            if char in "\"'":
                position = _skip_string(value, position)
                continue
            if expect_key and (char.isalnum() or char in "_-"):
                keys, rest = _read_key(value[position:])
                full = [*stack[-1], *keys]
                self._remember(full, number)
                position = len(value) - len(rest) + 1  # past the "="
                after = value[position:].lstrip()
                position = len(value) - len(after)
                expect_key = after.startswith("{")
                if expect_key:
                    stack.append(full)
                    position += 1
                continue
            if char == ",":
                expect_key = True
            elif char == "}":
                stack.pop()
            elif char == "[":
                position = _skip_array(value, position)
                continue
            position += 1

    def _remember(self, keys: list[str], number: int) -> None:
        for end in range(1, len(keys) + 1):
            self.lines.setdefault(".".join(keys[:end]), number)


def _read_key(text: str) -> tuple[list[str], str]:
    """The dotted key at the start of ``text`` and what follows it (stripped)."""
    keys: list[str] = []
    rest = text.lstrip()
    while rest:
        if rest[0] in "\"'":
            end = rest.find(rest[0], 1)
            if end < 0:
                return keys, ""
            keys.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            found = _BARE.match(rest)
            if not found:
                return keys, rest
            keys.append(found.group())
            rest = rest[found.end() :].lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
            continue
        return keys, rest.lstrip("]").strip() if rest.startswith("]") else rest
    return keys, rest


def _skip_string(text: str, start: int) -> int:
    quote = text[start]
    position = start + 1
    while position < len(text):
        if text[position] == "\\" and quote == '"':
            position += 2
            continue
        if text[position] == quote:
            return position + 1
        position += 1
    return position


def _skip_array(text: str, start: int) -> int:
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char in "\"'":
            position = _skip_string(text, position)
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return position


def _continues(value: str) -> str:
    """``value`` if it is not finished on this line (open array or multi-line string)."""
    for quote in ('"""', "'''"):
        if value.count(quote) % 2 == 1:
            return value
    depth = 0
    position = 0
    while position < len(value):
        char = value[position]
        if char == "#":
            newline = value.find("\n", position)
            position = len(value) if newline < 0 else newline
            continue
        if char in "\"'" and not value.startswith(char * 3, position):
            position = _skip_string(value, position)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        position += 1
    return value if depth > 0 else ""
