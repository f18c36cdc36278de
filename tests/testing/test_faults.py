"""Every fault kind a FaultPlan injects, and what the caller of the adapter sees."""

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmerp import RateLimited, RetryableError, TransientError, UsageError
from crmerp.adapters import WriteKind, WriteOp, WriteResult, WriteStatus
from crmerp.testing import (
    FakeClock,
    FakeCRM,
    FakeCRMAdapter,
    FakeERP,
    FakeERPAdapter,
    FaultPlan,
    SimulatedCrash,
    Trigger,
)


def create_ops(count: int) -> list[WriteOp]:
    return [
        WriteOp(WriteKind.CREATE, f"crmerp:g-{i}", {"Name": f"Account {i}"}) for i in range(count)
    ]


def outcomes(plan: FaultPlan, calls: int = 40) -> list[str]:
    adapter = FakeCRMAdapter(faults=plan)
    seen = []
    for _ in range(calls):
        try:
            adapter.read_page("customer", None, limit=10)
            seen.append("ok")
        except RetryableError as exc:
            seen.append(type(exc).__name__)
    return seen


def test_transient_errors_at_a_rate_are_seeded_and_reproducible() -> None:
    first = outcomes(FaultPlan(seed=3, transient=0.3))
    assert first == outcomes(FaultPlan(seed=3, transient=0.3))
    assert first != outcomes(FaultPlan(seed=4, transient=0.3))
    assert 0 < first.count("TransientError") < len(first)


def test_a_transient_error_at_the_nth_write_applies_nothing() -> None:
    plan = FaultPlan(transient=Trigger(at=2, on="write"))
    adapter = FakeCRMAdapter(faults=plan)
    adapter.read_page("customer", None, limit=10)
    adapter.write("customer", create_ops(1))
    with pytest.raises(TransientError, match="injected"):
        adapter.write("customer", create_ops(3)[1:])
    assert len(adapter.crm.find("Account")) == 1
    assert adapter.write("customer", create_ops(3)[1:])[0].status is WriteStatus.DONE
    assert plan.injected["transient"] == 1
    assert plan.calls == {"read": 1, "write": 3}


def test_rate_limiting_says_how_long_to_wait() -> None:
    adapter = FakeERPAdapter(faults=FaultPlan(rate_limited=Trigger(at=1), retry_after=42.0))
    with pytest.raises(RateLimited) as caught:
        adapter.fetch("customer", ["1"])
    assert caught.value.retry_after == 42.0
    assert adapter.fetch("customer", ["1"]) == []


@pytest.mark.parametrize(
    ("status", "expected"), [("retry", WriteStatus.RETRY), ("failed", WriteStatus.FAILED)]
)
def test_partial_batch_failures_answer_per_record(status: str, expected: WriteStatus) -> None:
    plan = FaultPlan(partial_failure=Trigger(at={2, 4}), partial_status=status)  # type: ignore[arg-type]
    adapter = FakeCRMAdapter(faults=plan)
    results = adapter.write("customer", create_ops(5))
    assert [r.status for r in results] == [
        WriteStatus.DONE,
        expected,
        WriteStatus.DONE,
        expected,
        WriteStatus.DONE,
    ]
    assert "injected" in results[1].reason
    stored = {a["External_Id__c"] for a in adapter.crm.find("Account")}
    assert stored == {"crmerp:g-0", "crmerp:g-2", "crmerp:g-4"}


def test_a_lost_answer_was_applied_and_a_resend_makes_no_duplicate() -> None:
    adapter = FakeERPAdapter(faults=FaultPlan(lost_answer=Trigger(at=1)))
    op = WriteOp(WriteKind.CREATE, "crmerp:g-1", {"name": "Acme", "bp_category": 2})
    with pytest.raises(TransientError, match="the batch was applied"):
        adapter.write("customer", [op])
    assert len(adapter.erp.find("party.party")) == 1
    (again,) = adapter.write("customer", [op])
    assert again == WriteResult.done("1")
    assert len(adapter.erp.find("party.party")) == 1


def test_a_slow_call_moves_the_fake_clock_and_calls_the_hook() -> None:
    waits: list[tuple[str, float]] = []
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC), tick=timedelta(0))
    plan = FaultPlan(
        slow=Trigger(at=1, on="read"), slow_seconds=45, on_slow=lambda op, s: waits.append((op, s))
    )
    adapter = FakeCRMAdapter(FakeCRM(clock=clock), faults=plan)
    adapter.read_page("customer", None, limit=10)
    adapter.read_page("customer", None, limit=10)
    assert waits == [("read", 45)]
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 45, tzinfo=UTC)


def test_a_crash_before_the_write_applies_nothing_and_escapes_except_exception() -> None:
    adapter = FakeCRMAdapter(faults=FaultPlan(crash_at="write.before"))

    def engine_write() -> None:
        try:
            adapter.write("customer", create_ops(2))
        except Exception:  # the engine's handlers must not swallow a crash
            pytest.fail("SimulatedCrash was caught by except Exception")

    with pytest.raises(SimulatedCrash) as caught:
        engine_write()
    assert caught.value.point == "write.before"
    assert adapter.crm.find("Account") == []
    assert adapter.write("customer", create_ops(2))[1].status is WriteStatus.DONE


@pytest.mark.parametrize(("point", "stored"), [("write.after_first", 1), ("write.after_commit", 3)])
def test_a_crash_during_or_after_the_batch_keeps_what_was_applied(
    point: str, stored: int, tmp_path: Path
) -> None:
    path = tmp_path / "crm.json"
    adapter = FakeCRMAdapter(path=path, faults=FaultPlan(crash_at=point))
    with pytest.raises(SimulatedCrash):
        adapter.write("customer", create_ops(3))
    assert len(FakeCRM(path).find("Account")) == stored
    results = adapter.write("customer", create_ops(3))
    assert all(r.status is WriteStatus.DONE for r in results)
    assert len(FakeCRM(path).find("Account")) == 3


def test_a_crash_after_reading_a_page_loses_only_that_answer() -> None:
    plan = FaultPlan(crash_at="read.page", crash_on=2)
    adapter = FakeCRMAdapter(faults=plan)
    adapter.write("customer", create_ops(3))
    first = adapter.read_page("customer", None, limit=2)
    with pytest.raises(SimulatedCrash):
        adapter.read_page("customer", first.cursor, limit=2)
    assert len(adapter.read_page("customer", first.cursor, limit=2).records) == 1
    assert plan.injected["crash"] == 1


def test_unknown_crash_points_and_operations_are_refused() -> None:
    with pytest.raises(UsageError, match="unknown crash point"):
        FaultPlan(crash_at="write.middle")
    with pytest.raises(UsageError, match="unknown operations"):
        Trigger(on="delete")
    with pytest.raises(UsageError):
        FaultPlan(transient=1.5)


def test_records_changed_while_paging_come_again_later() -> None:
    crm = FakeCRM()
    ids = [crm.create("Account", Name=f"A{i}") for i in range(6)]

    def meddle(entity: str, page: int) -> None:
        if page == 1:
            crm.edit("Account", ids[0], Name="A0 edited")
            crm.delete("Account", ids[4])
            crm.create("Account", Name="New while paging")

    adapter = FakeCRMAdapter(crm, page_size=2, faults=FaultPlan(while_paging=meddle))
    pages = list(adapter.read_changes("customer", None))
    names = [(r.payload["Name"], r.deleted) for p in pages for r in p.records]
    assert names[:2] == [("A0", False), ("A1", False)]
    assert ("A0 edited", False) in names[2:]
    assert ("A4", True) in names
    assert ("A4", False) not in names
    assert ("New while paging", False) in names


def test_a_skewed_server_clock_skews_every_stamp() -> None:
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC), tick=timedelta(0))
    adapter = FakeERPAdapter(
        FakeERP(clock=clock), faults=FaultPlan(clock_skew=timedelta(minutes=-7))
    )
    adapter.write("product", [WriteOp(WriteKind.CREATE, "crmerp:p", {"code": "P", "name": "W"})])
    (record,) = adapter.read_page("product", None, limit=5).records
    assert record.stamp == datetime(2029, 12, 31, 23, 53, tzinfo=UTC)


def test_a_clock_stepping_back_gives_later_changes_earlier_stamps() -> None:
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC), tick=timedelta(seconds=1))
    plan = FaultPlan(
        clock_step_back=Trigger(at=2, on="write"), clock_step_back_by=timedelta(hours=1)
    )
    adapter = FakeCRMAdapter(FakeCRM(clock=clock), faults=plan)
    adapter.write("customer", create_ops(1))
    adapter.write("customer", create_ops(2)[1:])
    first, second = adapter.read_page("customer", None, limit=5).records
    assert first.stamp is not None
    assert second.stamp is not None
    assert second.stamp < first.stamp
    assert plan.injected["clock_step_back"] == 1


def test_a_plan_can_be_swapped_or_removed_between_runs() -> None:
    adapter = FakeCRMAdapter(faults=FaultPlan(transient=1.0))
    with pytest.raises(TransientError):
        adapter.read_page("customer", None, limit=5)
    adapter.faults = None
    assert adapter.read_page("customer", None, limit=5).records == []


def test_the_plan_counts_what_it_injected() -> None:
    plan = FaultPlan(seed=9, transient=0.2, rate_limited=0.1, partial_failure=0.2)
    adapter = FakeCRMAdapter(faults=plan)
    for _ in range(30):
        with contextlib.suppress(RetryableError):
            adapter.write("customer", create_ops(3))
    assert sum(plan.calls.values()) == 30
    assert plan.injected["transient"] + plan.injected["rate_limited"] > 0
    assert plan.injected["partial_failure"] > 0
