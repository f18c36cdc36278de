"""The retry helpers drive a flaky adapter to an answer without sleeping."""

from collections.abc import Sequence

import pytest

from crmerp import RateLimited, RetryBudgetExceeded, TransientError, UsageError
from crmerp.adapters import WriteKind, WriteOp, WriteResult, WriteStatus
from crmerp.testing import FakeCRMAdapter, FaultPlan, Trigger, settle_writes, with_retries


def test_with_retries_repeats_retryable_errors_until_the_call_succeeds() -> None:
    answers: list[Exception | str] = [
        TransientError("reset"),
        RateLimited("slow down", retry_after=3600),
        "ok",
    ]

    def flaky() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_retries(flaky) == "ok"


def test_with_retries_gives_up_and_leaves_other_errors_alone() -> None:
    def always() -> None:
        raise TransientError("down")

    with pytest.raises(RetryBudgetExceeded, match="gave up after 25 attempts: down"):
        with_retries(always)

    calls: list[int] = []

    def misuse() -> None:
        calls.append(1)
        raise UsageError("wrong")

    with pytest.raises(UsageError):
        with_retries(misuse)
    assert calls == [1]


def test_settle_writes_resends_only_the_records_asked_to_retry() -> None:
    seen: list[list[str]] = []

    class Recording(FakeCRMAdapter):
        def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
            seen.append([op.reference for op in ops])
            return super().write(entity, ops)

    adapter = Recording(faults=FaultPlan(partial_failure=Trigger(at=2)))
    ops = [WriteOp(WriteKind.CREATE, f"crmerp:{i}", {"Name": f"A{i}"}) for i in range(3)]
    results = settle_writes(adapter, "customer", ops)
    assert [r.status for r in results] == [WriteStatus.DONE] * 3
    assert seen == [["crmerp:0", "crmerp:1", "crmerp:2"], ["crmerp:1"]]
    assert len(adapter.crm.find("Account")) == 3
