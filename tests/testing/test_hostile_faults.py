"""The fault kinds of real systems, as the caller of an adapter sees them: on the
fakes' own ``faults`` and around any adapter with ``FaultyAdapter``, seeded and
composable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmerp import TransientError, UsageError
from crmerp.adapters import Adapter, Page, WriteKind, WriteOp, WriteStatus
from crmerp.testing import (
    FakeCRM,
    FakeCRMAdapter,
    FaultPlan,
    FaultyAdapter,
    Trigger,
    normalise_payload,
)

WAYS = ["fake", "wrapped"]


def adapter(way: str, plan: FaultPlan | None, accounts: int = 6) -> tuple[Adapter, FakeCRM]:
    crm = FakeCRM()
    for n in range(accounts):
        crm.create("Account", Name=f"Account {n}", Email__c=f"a{n}@example.com")
    if way == "fake":
        return FakeCRMAdapter(crm, faults=plan), crm
    return FaultyAdapter(FakeCRMAdapter(crm), plan), crm


def creates(count: int) -> list[WriteOp]:
    return [WriteOp(WriteKind.CREATE, f"crmerp:g-{i}", {"Name": f"New {i}"}) for i in range(count)]


def ids(page: Page) -> list[str]:
    return [r.id for r in page.records]


@pytest.mark.parametrize("way", WAYS)
def test_a_batch_cut_mid_way_applies_some_records_and_answers_none(way: str) -> None:
    plan = FaultPlan(partial_apply=Trigger(at=1))
    system, crm = adapter(way, plan, accounts=0)
    with pytest.raises(TransientError, match="mid-batch") as info:
        system.write("customer", creates(5))
    applied = len(crm.find("Account"))
    assert 1 <= applied <= 4
    assert f"{applied} of 5 records applied" in str(info.value)
    assert plan.injected["partial_apply"] == 1


@pytest.mark.parametrize("way", WAYS)
def test_feeds_repeat_reorder_and_cut_pages_short(way: str) -> None:
    clean, _ = adapter(way, None)
    expected = ids(clean.read_page("customer", None, limit=4))
    repeated, _ = adapter(way, FaultPlan(feed_duplicate=1.0))
    page = repeated.read_page("customer", None, limit=4)
    assert sorted(set(ids(page))) == sorted(expected)
    assert len(ids(page)) == len(expected) + 1
    shuffled, _ = adapter(way, FaultPlan(seed=2, feed_reorder=1.0))
    assert sorted(ids(shuffled.read_page("customer", None, limit=4))) == sorted(expected)
    short, _ = adapter(way, FaultPlan(feed_short=1.0))
    cut = short.read_page("customer", None, limit=4)
    assert ids(cut) == expected
    assert cut.more is False  # although two more records follow


@pytest.mark.parametrize("way", WAYS)
def test_a_late_record_comes_with_the_next_read_and_a_skipped_one_never(way: str) -> None:
    late_plan = FaultPlan(feed_late=Trigger(at=1))
    late, _ = adapter(way, late_plan)
    first = late.read_page("customer", None, limit=3)
    assert len(first.records) == 2
    second = late.read_page("customer", first.cursor, limit=3)
    assert len(second.records) == 4  # three of its own, and the one held back
    assert set(ids(first)) | set(ids(second)) == {r.id for r in _all(adapter(way, None)[0])}
    skip, _ = adapter(way, FaultPlan(feed_skip=Trigger(at=1)))
    pages = [skip.read_page("customer", None, limit=3)]
    pages.append(skip.read_page("customer", pages[0].cursor, limit=3))
    assert sum(len(p.records) for p in pages) == 5


def _all(system: Adapter) -> list[object]:
    return list(system.read_page("customer", None, limit=100).records)


@pytest.mark.parametrize("way", WAYS)
def test_a_cursor_goes_back_to_one_handed_out_before(way: str) -> None:
    # Counted over the reads that have an earlier cursor to go back to: the second.
    system, _ = adapter(way, FaultPlan(cursor_back=Trigger(at=1)))
    first = system.read_page("customer", None, limit=2)
    second = system.read_page("customer", first.cursor, limit=2)
    assert second.cursor is None  # the start again
    assert system.read_page("customer", second.cursor, limit=2).records == first.records


@pytest.mark.parametrize("way", WAYS)
def test_a_lagging_replica_hides_new_records_from_fetch_and_find_for_a_while(way: str) -> None:
    system, _ = adapter(way, FaultPlan(read_lag=1.0, lag_calls=2), accounts=0)
    (done,) = system.write("customer", creates(1))
    assert done.native_id is not None
    assert system.fetch("customer", [done.native_id]) == []
    assert system.find_by_reference("customer", ["crmerp:g-0"]) == {}
    assert [r.id for r in system.fetch("customer", [done.native_id])] == [done.native_id]


@pytest.mark.parametrize("way", WAYS)
def test_a_normalising_system_keeps_what_it_likes_of_a_write(way: str) -> None:
    system, crm = adapter(way, FaultPlan(normalise=1.0), accounts=0)
    long = "A name far longer than forty characters, surely"
    op = WriteOp(WriteKind.CREATE, "crmerp:g-1", {"Name": long, "Email__c": "Ann@Example.COM"})
    system.write("customer", [op])
    (row,) = crm.find("Account")
    assert (row["Name"], row["Email__c"]) == (long[:40], "ann@example.com")
    assert normalise_payload({"amount": Decimal("99.125"), "phone": "+49 (30) 123-45"}) == {
        "amount": Decimal("99.12"),
        "phone": "+493012345",
    }


@pytest.mark.parametrize("way", WAYS)
def test_a_stale_answer_changes_nothing(way: str) -> None:
    system, crm = adapter(way, FaultPlan(stale_answer=Trigger(at=1)))
    record = system.read_page("customer", None, limit=1).records[0]
    op = WriteOp(WriteKind.UPDATE, "crmerp:g-1", {"Name": "Renamed"}, record.id, record.version)
    (answer,) = system.write("customer", [op])
    assert answer.status is WriteStatus.STALE
    assert crm.read("Account", record.id)["Name"] == "Account 0"  # type: ignore[index]
    (again,) = system.write("customer", [op])
    assert again.status is WriteStatus.DONE


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("hook", ["signpost", "capabilities", "close"])
def test_foreign_exceptions_in_calls_and_hooks(way: str, hook: str) -> None:
    plan = FaultPlan(foreign_error=Trigger(at=1, on=hook), foreign_exception=LookupError)
    system, _ = adapter(way, plan)
    call = {
        "signpost": lambda: system.signpost("customer"),
        "capabilities": system.capabilities,
        "close": system.close,
    }[hook]
    with pytest.raises(LookupError, match="injected"):
        call()
    call()  # once only
    system.read_page("customer", None, limit=2)  # remote calls are not named: no fault
    assert plan.injected["foreign_error"] == 1


def test_a_plain_rate_does_not_fire_on_hooks_and_unknown_calls_are_refused() -> None:
    plan = FaultPlan(transient=1.0)
    system, _ = adapter("fake", plan)
    system.capabilities()
    system.signpost("customer")
    with pytest.raises(TransientError):
        system.read_page("customer", None, limit=2)
    with pytest.raises(UsageError, match="unknown operations"):
        Trigger(on="commit")


@pytest.mark.parametrize("way", WAYS)
def test_the_kinds_compose_and_the_same_seed_gives_the_same_faults(way: str) -> None:
    def shapes(seed: int) -> list[tuple[list[str], bool]]:
        plan = FaultPlan(
            seed=seed, feed_duplicate=0.5, feed_reorder=0.5, feed_short=0.3, feed_skip=0.2
        )
        system, _ = adapter(way, plan, accounts=20)
        seen, cursor = [], None
        for _ in range(6):
            page = system.read_page("customer", cursor, limit=4)
            seen.append((ids(page), page.more))
            cursor = page.cursor
        assert {"feed_duplicate", "feed_reorder"} <= set(plan.injected)
        return seen

    assert shapes(5) == shapes(5)
    assert shapes(5) != shapes(6)
