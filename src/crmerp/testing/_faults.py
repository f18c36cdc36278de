"""Seeded, reproducible fault injection for the fake adapters.

A :class:`FaultPlan` is attached to a fake adapter (``adapter.faults = plan``)
and decides, call by call, what goes wrong. Every random choice comes from one
``random.Random(seed)``, so the same plan and the same calls give the same faults.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Literal

import attrs

from crmerp._errors import RateLimited, TransientError, UsageError
from crmerp.testing._clock import FakeClock

__all__ = ["CRASH_POINTS", "HOOKS", "OPERATIONS", "FaultPlan", "SimulatedCrash", "Trigger"]

OPERATIONS: frozenset[str] = frozenset({"read", "fetch", "find", "write"})
"""The remote calls a plan counts: ``read_page``, ``fetch``, ``find_by_reference``, ``write``."""

HOOKS: frozenset[str] = frozenset({"signpost", "capabilities", "close"})
"""The other adapter methods a trigger may name (``on="signpost"``); a trigger fires
on them only when it names them, so ``Trigger(rate=0.1)`` still means remote calls."""

CRASH_POINTS: frozenset[str] = frozenset(
    {
        "read.before",
        "read.page",
        "fetch.before",
        "find.before",
        "write.before",
        "write.after_first",
        "write.after_commit",
    }
)
"""Where a plan can crash: before a call reaches the system, after a page was read,
after the first record of a batch was applied, after the whole batch was applied."""


class SimulatedCrash(BaseException):
    """The process "died" at ``point``.

    A ``BaseException``, like ``KeyboardInterrupt``, so ``except Exception`` in the
    code under test does not swallow it: the test sees the crash and can restart.
    """

    def __init__(self, point: str) -> None:
        self.point = point
        super().__init__(f"simulated crash at {point!r}")


def _numbers(value: int | Iterable[int]) -> frozenset[int]:
    return frozenset({value} if isinstance(value, int) else value)


def _operations(value: str | Iterable[str]) -> frozenset[str]:
    ops = frozenset({value} if isinstance(value, str) else value)
    if unknown := ops - OPERATIONS - HOOKS:
        raise UsageError(
            f"unknown operations {sorted(unknown)}; known: {sorted(OPERATIONS | HOOKS)}",
            code="faults-operation",
        )
    return ops


def _rate(_: Any, attribute: Any, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{attribute.name} must lie in 0..1, got {value}", code="faults-rate")


@attrs.frozen
class Trigger:
    """When a fault fires: at a ``rate`` (0..1, seeded) and/or ``at`` given occurrences.

    Occurrences are counted from 1 over the calls named in ``on`` (for partial
    failures: over the records written). ``Trigger(at=2, on="write")`` is the
    second write call; ``Trigger(rate=0.1)`` one call in ten on average.
    """

    rate: float = attrs.field(default=0.0, validator=_rate)
    at: frozenset[int] = attrs.field(default=frozenset(), converter=_numbers)
    on: frozenset[str] = attrs.field(default=OPERATIONS, converter=_operations)


def _trigger(value: Trigger | float | None) -> Trigger | None:
    if value is None or isinstance(value, Trigger):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"a fault is a Trigger or a rate, not {value!r}", code="faults-trigger")
    return Trigger(rate=float(value))


def _crash_point(_: Any, __: Any, value: str | None) -> None:
    if value is not None and value not in CRASH_POINTS:
        raise UsageError(
            f"unknown crash point {value!r}; known: {sorted(CRASH_POINTS)}",
            code="faults-crash-point",
        )


@attrs.define
class FaultPlan:
    """What goes wrong, and when, for a fake adapter.

    Each fault kind takes a :class:`Trigger` or a plain rate::

        FaultPlan(seed=7, transient=0.2)                          # 20 % of calls fail
        FaultPlan(rate_limited=Trigger(at=1, on="read"), retry_after=30)
        FaultPlan(partial_failure=Trigger(at={2, 5}), partial_status="failed")
        FaultPlan(lost_answer=Trigger(at=1))                      # applied, then an error
        FaultPlan(slow=1.0, slow_seconds=45, on_slow=hook)        # the fake clock moves on
        FaultPlan(crash_at="write.after_commit")                  # SimulatedCrash, once
        FaultPlan(while_paging=lambda entity, page: ...)          # edit between pages
        FaultPlan(clock_skew=timedelta(minutes=-5))
        FaultPlan(clock_step_back=Trigger(at=3), clock_step_back_by=timedelta(hours=1))

    The kinds that real systems show beyond these (see docs/reliability.md), each
    a trigger too, on the fakes and on any adapter wrapped in
    :class:`~crmerp.testing.FaultyAdapter`::

        FaultPlan(partial_apply=Trigger(at=1))     # part of a batch applied, then a drop
        FaultPlan(feed_duplicate=0.2, feed_reorder=0.2, feed_short=0.2)
        FaultPlan(feed_late=Trigger(at=1))         # a record delivered one read later
        FaultPlan(feed_skip=Trigger(at=1))         # a record the feed never delivers
        FaultPlan(cursor_back=Trigger(at=1))       # a page answers an older cursor
        FaultPlan(read_lag=1.0, lag_calls=2)       # new records unseen by fetch/find
        FaultPlan(normalise=1.0)                   # the system rewrites what is written
        FaultPlan(stale_answer=Trigger(at=1))      # an update refused as stale (ETag)
        FaultPlan(stall=Trigger(at=1, on="write")) # blocks in real time until ``resume``
        FaultPlan(foreign_error=Trigger(at=1, on="signpost"))  # a RuntimeError

    Feed kinds count reads (``cursor_back`` only reads with an earlier cursor to go
    back to), ``partial_apply`` write calls, ``read_lag``, ``normalise`` and
    ``stale_answer`` records written.

    ``injected`` counts what was injected, by kind; ``calls`` counts calls by operation.
    ``clock_skew`` is set on the system's clock at every call and stays there (the
    server's clock is wrong) until the test resets ``clock.skew``.
    """

    seed: int = 0
    transient: Trigger | None = attrs.field(default=None, converter=_trigger)
    rate_limited: Trigger | None = attrs.field(default=None, converter=_trigger)
    retry_after: float = 1.0
    partial_failure: Trigger | None = attrs.field(default=None, converter=_trigger)
    partial_status: Literal["retry", "failed"] = "retry"
    lost_answer: Trigger | None = attrs.field(default=None, converter=_trigger)
    slow: Trigger | None = attrs.field(default=None, converter=_trigger)
    slow_seconds: float = 30.0
    on_slow: Callable[[str, float], None] | None = None
    crash_at: str | None = attrs.field(default=None, validator=_crash_point)
    crash_on: int = 1
    while_paging: Callable[[str, int], None] | None = None
    clock_skew: timedelta | None = None
    clock_step_back: Trigger | None = attrs.field(default=None, converter=_trigger)
    clock_step_back_by: timedelta = timedelta(hours=1)
    partial_apply: Trigger | None = attrs.field(default=None, converter=_trigger)
    feed_duplicate: Trigger | None = attrs.field(default=None, converter=_trigger)
    feed_reorder: Trigger | None = attrs.field(default=None, converter=_trigger)
    feed_short: Trigger | None = attrs.field(default=None, converter=_trigger)
    feed_late: Trigger | None = attrs.field(default=None, converter=_trigger)
    feed_skip: Trigger | None = attrs.field(default=None, converter=_trigger)
    cursor_back: Trigger | None = attrs.field(default=None, converter=_trigger)
    read_lag: Trigger | None = attrs.field(default=None, converter=_trigger)
    lag_calls: int = 2
    normalise: Trigger | None = attrs.field(default=None, converter=_trigger)
    normalise_with: Callable[[Any], Any] | None = None
    stale_answer: Trigger | None = attrs.field(default=None, converter=_trigger)
    stall: Trigger | None = attrs.field(default=None, converter=_trigger)
    stall_timeout: float = 30.0
    foreign_error: Trigger | None = attrs.field(default=None, converter=_trigger)
    foreign_exception: Callable[[str], Exception] | None = None
    stalled: threading.Event = attrs.field(factory=threading.Event, init=False)
    """Set when a call starts to stall; the call goes on once :attr:`resume` is set."""
    resume: threading.Event = attrs.field(factory=threading.Event, init=False)
    """Set it to let stalled calls go on (they also go on after ``stall_timeout``)."""
    hidden: dict[tuple[str, str], int] = attrs.field(factory=dict, init=False)
    """(entity, id or reference) -> fetch/find calls it stays unseen (``read_lag``)."""
    held: dict[str, list[Any]] = attrs.field(factory=dict, init=False)
    """entity -> records held back by ``feed_late``, delivered by the next read."""
    cursors: dict[str, list[str | None]] = attrs.field(factory=dict, init=False)
    """entity -> the cursors reads started from (``cursor_back`` answers one of them)."""
    injected: Counter[str] = attrs.field(factory=Counter, init=False)
    calls: Counter[str] = attrs.field(factory=Counter, init=False)
    _random: random.Random = attrs.field(init=False)
    _counts: Counter[str] = attrs.field(factory=Counter, init=False)

    def __attrs_post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def _fires(self, kind: str, trigger: Trigger | None, operation: str) -> bool:
        if trigger is None or operation not in trigger.on:
            return False
        self._counts[kind] += 1
        hit = self._counts[kind] in trigger.at
        if trigger.rate and self._random.random() < trigger.rate:
            hit = True
        if hit:
            self.injected[kind] += 1
        return hit

    def begin_call(self, operation: str, system: str, clock: FakeClock) -> None:
        """Count a call and inject the faults due before it reaches the system.

        Sets the clock's skew, steps it back, makes the call slow, or raises
        :class:`~crmerp.RateLimited` or :class:`~crmerp.TransientError`.
        """
        self.calls[operation] += 1
        if self.clock_skew is not None:
            clock.skew = self.clock_skew
        if self._fires("clock_step_back", self.clock_step_back, operation):
            clock.step_back(self.clock_step_back_by)
        if self._fires("slow", self.slow, operation):
            clock.advance(self.slow_seconds)
            if self.on_slow is not None:
                self.on_slow(operation, self.slow_seconds)
        if self._fires("rate_limited", self.rate_limited, operation):
            raise RateLimited(
                f"{system} {operation}: too many requests", retry_after=self.retry_after
            )
        if self._fires("transient", self.transient, operation):
            raise TransientError(f"{system} {operation}: connection reset (injected)")
        self.hostile_call(operation, system)

    def hook_call(self, hook: str, system: str) -> None:
        """Inject the faults due in ``signpost``, ``capabilities`` or ``close``
        (only triggers whose ``on`` names the hook fire there)."""
        if self._fires("transient", self.transient, hook):
            raise TransientError(f"{system} {hook}: connection reset (injected)")
        self.hostile_call(hook, system)

    def hostile_call(self, operation: str, system: str) -> None:
        """Stall in real time or raise a foreign exception, if due."""
        if self._fires("stall", self.stall, operation):
            self.stalled.set()
            self.resume.wait(self.stall_timeout)
        if self._fires("foreign_error", self.foreign_error, operation):
            what = f"{system} {operation}: unexpected failure (injected)"
            raise (self.foreign_exception or RuntimeError)(what)

    def fires(self, kind: str, operation: str) -> bool:
        """Count an occurrence of the fault ``kind`` (a field of this plan) on
        ``operation`` and say whether it fires; for adapters that inject the kinds."""
        trigger = getattr(self, kind)
        return self._fires(kind, trigger, operation)

    def draw(self, count: int) -> int:
        """A seeded choice in ``range(count)``."""
        return self._random.randrange(count)

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle ``items`` in place, seeded."""
        self._random.shuffle(items)

    def crash_due(self, point: str) -> bool:
        """True once, when ``point`` is reached for the ``crash_on``-th time."""
        if point != self.crash_at:
            return False
        self._counts[f"crash:{point}"] += 1
        if self._counts[f"crash:{point}"] != self.crash_on:
            return False
        self.injected["crash"] += 1
        return True

    def record_failure(self) -> Literal["retry", "failed"] | None:
        """The injected outcome of the next record of a write batch, if any."""
        if self._fires("partial_failure", self.partial_failure, "write"):
            return self.partial_status
        return None

    def answer_lost(self) -> bool:
        """True when the answer to the write just applied is to be lost."""
        return self._fires("lost_answer", self.lost_answer, "write")

    def page_read(self, entity: str) -> None:
        """Run ``while_paging`` after a page of ``entity`` was read."""
        self._counts[f"page:{entity}"] += 1
        if self.while_paging is not None:
            self.injected["while_paging"] += 1
            self.while_paging(entity, self._counts[f"page:{entity}"])
