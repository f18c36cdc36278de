"""Calling adapters: retry transient errors, wait as rate limits ask, within a budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import attrs

from crmerp._errors import RateLimited, RetryBudgetExceeded, TransientError

__all__ = ["RetryPolicy"]

T = TypeVar("T")


@attrs.frozen
class RetryPolicy:
    """How the engine retries adapter calls.

    ``attempts`` transient errors in a row are tolerated per call, waiting
    ``backoff * 2**n`` seconds between them; a rate limit is waited out as the
    system asks. All waiting in one run is capped by ``budget`` seconds: past it
    the run stops cleanly with :class:`~crmerp.RetryBudgetExceeded`.
    """

    attempts: int = 5
    backoff: float = 0.2
    budget: float = 300.0


class Retrier:
    """Applies a :class:`RetryPolicy` and keeps the run's waiting total."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy
        self.sleep = sleep
        self.waited = 0.0
        self.retries = 0

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying as the policy allows."""
        failures = 0
        while True:
            try:
                return fn()
            except RateLimited as exc:
                self._wait(what, exc.retry_after)
            except TransientError:
                failures += 1
                if failures >= self.policy.attempts:
                    raise
                self._wait(what, self.policy.backoff * 2 ** (failures - 1))
            self.retries += 1

    def _wait(self, what: str, seconds: float) -> None:
        if self.waited + seconds > self.policy.budget:
            raise RetryBudgetExceeded(
                f"{what}: waiting {seconds:g}s more would exceed the retry budget of "
                f"{self.policy.budget:g}s ({self.waited:g}s used)"
            )
        self.waited += seconds
        self.sleep(seconds)
