"""Retries of adapter calls: jittered backoff, rate limits as told, the budget."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from crmerp import RateLimited, RetryBudgetExceeded, TransientError
from crmerp.sync import RetryPolicy
from crmerp.sync._retry import Retrier


def flaky(failures: list[Exception]) -> Callable[[], str]:
    """A call that raises each of ``failures`` in turn, then answers ``"ok"``."""
    pending = list(failures)

    def call() -> str:
        if pending:
            raise pending.pop(0)
        return "ok"

    return call


def waits_of(policy: RetryPolicy, seed: int, failures: int) -> list[float]:
    waits: list[float] = []
    retrier = Retrier(policy, waits.append, random.Random(seed))
    call = flaky([TransientError("hiccup") for _ in range(failures)])
    assert retrier.call("read", call) == "ok"
    return waits


def test_transient_errors_wait_a_random_share_of_a_doubling_backoff() -> None:
    waits = waits_of(RetryPolicy(attempts=5, backoff=1.0), seed=3, failures=4)

    assert len(waits) == 4
    for n, wait in enumerate(waits):
        assert 0 <= wait <= 2**n
    assert len(set(waits)) == 4


def test_workers_that_fail_together_do_not_come_back_together() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0)

    assert waits_of(policy, seed=1, failures=3) != waits_of(policy, seed=2, failures=3)


def test_without_jitter_the_backoff_doubles_exactly() -> None:
    policy = RetryPolicy(attempts=5, backoff=0.5, jitter=False)

    assert waits_of(policy, seed=1, failures=3) == [0.5, 1.0, 2.0]


def test_after_the_last_attempt_the_error_itself_is_raised() -> None:
    waits: list[float] = []
    retrier = Retrier(RetryPolicy(attempts=3), waits.append)
    call = flaky([TransientError(f"hiccup {n}") for n in range(3)])

    with pytest.raises(TransientError, match="hiccup 2"):
        retrier.call("read", call)
    assert len(waits) == 2


def test_rate_limits_wait_as_told_and_do_not_use_up_attempts() -> None:
    waits: list[float] = []
    retrier = Retrier(RetryPolicy(attempts=2, jitter=False, backoff=0.1), waits.append)
    call = flaky([RateLimited("slow down", retry_after=7.5) for _ in range(4)])

    assert retrier.call("write", call) == "ok"
    assert waits == [7.5] * 4


def test_waiting_past_the_budget_stops_before_the_wait() -> None:
    waits: list[float] = []
    retrier = Retrier(RetryPolicy(budget=10), waits.append)
    call = flaky([RateLimited("slow down", retry_after=6) for _ in range(3)])

    with pytest.raises(RetryBudgetExceeded, match="retry budget of 10s"):
        retrier.call("write", call)
    assert waits == [6]
