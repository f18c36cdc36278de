"""Fixtures of the reliability tests, and the soak tally printed under CRMERP_SOAK=1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability._helpers import SOAK, TALLY, World, make_world


@pytest.fixture
def world() -> Iterator[World]:
    """The two fakes over an in-memory SQLite state (the ERP reports deletes)."""
    made = make_world()
    yield made
    made.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SOAK or not TALLY.runs:
        return
    terminalreporter.section("reliability soak (CRMERP_SOAK=1)")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
