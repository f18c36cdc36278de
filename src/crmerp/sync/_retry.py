"""Calling adapters: retry transient errors with jittered backoff, wait as rate limits
ask, within a budget. The loop is tenacity's; the policy and the budget are ours."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import attrs
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from crmerp._errors import RateLimited, RetryBudgetExceeded, TransientError

__all__ = ["RetryPolicy"]

T = TypeVar("T")


@attrs.frozen
class RetryPolicy:
    """How the engine retries adapter calls.

    ``attempts`` transient errors in a row are tolerated per call. Between them the
    engine waits a random time of up to ``backoff * 2**n`` seconds (n = 0, 1, ...:
    "full jitter"), so that workers that failed together do not all come back at
    the same moment; ``jitter=False`` waits exactly that long. A rate limit is
    waited out as the system asks, and does not count as an attempt. All waiting
    in one run is capped by ``budget`` seconds: past it the run stops cleanly with
    :class:`~crmerp.RetryBudgetExceeded`.
    """

    attempts: int = 5
    backoff: float = 0.2
    budget: float = 300.0
    jitter: bool = True


class Retrier:
    """Applies a :class:`RetryPolicy` and keeps the run's waiting total."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.waited = 0.0
        self.retries = 0

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying as the policy allows; the last error when it does not."""
        failures = [0]

        def count(state: RetryCallState) -> None:
            if not isinstance(_error(state), RateLimited):
                failures[0] += 1

        def stop(state: RetryCallState) -> bool:
            return not isinstance(_error(state), RateLimited) and (
                failures[0] >= self.policy.attempts
            )

        def wait(state: RetryCallState) -> float:
            error = _error(state)
            if isinstance(error, RateLimited):
                return error.retry_after
            return self._backoff(failures[0])

        def charge(state: RetryCallState) -> None:
            self._charge(what, state.upcoming_sleep)

        retrying = Retrying(
            retry=retry_if_exception_type((RateLimited, TransientError)),
            after=count,
            stop=stop,
            wait=wait,
            before_sleep=charge,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)

    def _backoff(self, failures: int) -> float:
        cap = self.policy.backoff * 2 ** (failures - 1)
        return self.rng.uniform(0, cap) if self.policy.jitter else cap

    def _charge(self, what: str, seconds: float) -> None:
        if self.waited + seconds > self.policy.budget:
            raise RetryBudgetExceeded(
                f"{what}: waiting {seconds:g}s more would exceed the retry budget of "
                f"{self.policy.budget:g}s ({self.waited:g}s used)"
            )
        self.waited += seconds
        self.retries += 1


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
