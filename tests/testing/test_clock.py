"""The fakes' server clock moves only when the test says so."""

from datetime import UTC, datetime, timedelta

import pytest

from crmerp import UsageError
from crmerp.testing import FakeClock

START = datetime(2030, 6, 1, 12, tzinfo=UTC)


def test_each_reading_moves_the_clock_on_by_its_tick() -> None:
    clock = FakeClock(START, tick=timedelta(seconds=2))
    assert clock.now() == START
    assert clock.now() == START + timedelta(seconds=2)
    assert clock.peek() == START + timedelta(seconds=4)
    assert clock.peek() == START + timedelta(seconds=4)


def test_advance_skew_and_stepping_back() -> None:
    clock = FakeClock(START, tick=timedelta(0))
    clock.advance(60)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == START + timedelta(minutes=2)
    clock.skew = timedelta(minutes=-10)
    assert clock.now() == START - timedelta(minutes=8)
    clock.skew = timedelta(0)
    clock.step_back(timedelta(hours=1))
    assert clock.now() == START + timedelta(minutes=2) - timedelta(hours=1)


def test_the_clock_never_runs_on_naive_time_or_backwards_by_advance() -> None:
    with pytest.raises(UsageError):
        FakeClock(datetime(2030, 1, 1))
    with pytest.raises(UsageError):
        FakeClock().advance(-1)
    clock = FakeClock(tick=timedelta(0))
    clock.set(datetime(2031, 1, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2031
