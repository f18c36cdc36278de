"""Retrying calls to a flaky adapter in tests, without ever sleeping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from crmerp._errors import RetryableError, RetryBudgetExceeded
from crmerp.adapters import Adapter, WriteOp, WriteResult, WriteStatus

__all__ = ["settle_writes", "with_retries"]

P = ParamSpec("P")
T = TypeVar("T")
ATTEMPTS = 25
"""How often a call or a batch is tried before giving up."""


def with_retries(
    call: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``call(*args, **kwargs)``, repeated while it raises a :class:`~crmerp.RetryableError`.

    Gives up after 25 attempts with :class:`~crmerp.RetryBudgetExceeded`. It never
    sleeps: a :class:`~crmerp.RateLimited` wait is only counted, which is what a
    test with a fake clock wants.
    """
    last: RetryableError | None = None
    for _ in range(ATTEMPTS):
        try:
            return call(*args, **kwargs)
        except RetryableError as exc:  # RateLimited included: its wait is not slept
            last = exc
    raise RetryBudgetExceeded(f"gave up after {ATTEMPTS} attempts: {last}") from last


def settle_writes(adapter: Adapter, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
    """Write ``ops`` until every one is done or failed for good; one result per op.

    Raised retryable errors repeat the whole batch (safe: creates upsert by their
    reference); ``retry`` results repeat just those ops.
    """
    results: list[WriteResult | None] = [None] * len(ops)
    pending = list(range(len(ops)))
    for _ in range(ATTEMPTS):
        answers = with_retries(adapter.write_checked, entity, [ops[i] for i in pending])
        for index, answer in zip(pending, answers, strict=True):
            results[index] = answer
        pending = [i for i in pending if results[i].status is WriteStatus.RETRY]  # type: ignore[union-attr]
        if not pending:
            return [r for r in results if r is not None]
    raise RetryBudgetExceeded(f"{entity} writes still asked to retry after {ATTEMPTS} rounds")
