"""A clock the test controls: the server-side time of a fake system."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmerp._errors import UsageError

__all__ = ["FakeClock"]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    """Server time of a fake system, moved only by the test.

    Each reading moves the clock on by ``tick``, so two changes never share a
    stamp unless ``tick`` is zero. ``skew`` is added to every reading (a server
    whose clock is wrong); :meth:`step_back` makes time go backwards.

    >>> clock = FakeClock(tick=timedelta(0))
    >>> clock.now().isoformat()
    '2024-01-01T00:00:00+00:00'
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2024-01-01T00:01:30+00:00'
    """

    def __init__(
        self, start: datetime | None = None, *, tick: timedelta = timedelta(seconds=1)
    ) -> None:
        self._time = _aware(start or EPOCH)
        self.tick = tick
        self.skew = timedelta(0)

    def now(self) -> datetime:
        """The current (skewed) time; the clock then moves on by ``tick``."""
        reading = self._time + self.skew
        self._time += self.tick
        return reading

    def peek(self) -> datetime:
        """The current (skewed) time, without moving the clock."""
        return self._time + self.skew

    def advance(self, seconds: float | timedelta) -> None:
        """Move the clock forward, as time passing would."""
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise UsageError("advance() moves forward; use step_back()", code="clock-advance")
        self._time += delta

    def step_back(self, by: timedelta) -> None:
        """Make the clock jump backwards by ``by`` (an NTP correction, a VM restore)."""
        self._time -= abs(by)

    def set(self, when: datetime) -> None:
        """Set the clock to ``when`` (aware), forwards or backwards."""
        self._time = _aware(when)


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise UsageError("FakeClock needs a timezone-aware datetime", code="clock-naive")
    return when.astimezone(UTC)
