"""Lost answers, partial batches, edits between read and write, rate limits."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from crmerp.adapters import Capabilities
from crmerp.state import open_state
from crmerp.sync import RetryPolicy, SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter, FaultPlan, Trigger

ACCOUNTS = 40


def company(accounts: int = ACCOUNTS) -> tuple[FakeCRM, FakeERP]:
    crm, erp = FakeCRM(), FakeERP()
    for n in range(accounts):
        crm.create(
            "Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com", CurrencyIsoCode="EUR"
        )
    return crm, erp


def engine(crm_adapter: Any, erp_adapter: Any, url: str, **options: Any) -> SyncEngine:
    return SyncEngine(
        crm=crm_adapter,
        erp=erp_adapter,
        state=open_state(url, create=True),
        worker_id="w",
        **options,
    )


class RecordingERP(FakeERPAdapter):
    """A fake ERP adapter that remembers every write it was sent, and its answers."""

    def __init__(self, *args: Any, upsert: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.upsert = upsert

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        return Capabilities(
            caps.readable,
            caps.writable,
            caps.reports_deletes,
            caps.change_feed,
            self.upsert,
            caps.page_size,
            caps.max_batch,
        )

    def write(self, entity, ops):  # type: ignore[no-untyped-def]
        for op in ops:
            self.sent[op.reference].append("sent")
        results = super().write(entity, ops)
        for op, result in zip(ops, results, strict=True):
            self.sent[op.reference].append(result.status.value)
        return results


@pytest.mark.parametrize("upsert", [True, False], ids=["upsert", "find-by-reference"])
def test_a_lost_answer_leaves_exactly_one_remote_record(sqlite_url: str, upsert: bool) -> None:
    crm, erp = company(5)
    faults = FaultPlan(seed=3, lost_answer=Trigger(at=frozenset({1}), on="write"))
    erp_adapter = RecordingERP(erp, faults=faults, upsert=upsert)
    report = engine(FakeCRMAdapter(crm), erp_adapter, sqlite_url, sleep=lambda s: None).run()
    assert faults.injected["lost_answer"] == 1
    names = [p["name"] for p in erp.find("party.party")]
    assert sorted(names) == sorted(f"Customer {n}" for n in range(5))
    assert report.entity("customer").erp.created == 5


def test_partial_batches_settle_without_resending_what_was_written(sqlite_url: str) -> None:
    crm, erp = company()
    faults = FaultPlan(seed=11, partial_failure=0.3, partial_status="retry")
    erp_adapter = RecordingERP(erp, faults=faults)
    sync = engine(FakeCRMAdapter(crm), erp_adapter, sqlite_url)
    first = sync.run(["customer"])
    written = first.entity("customer").erp.created
    waiting = first.entity("customer").deferred
    assert faults.injected["partial_failure"] > 0
    assert written + waiting == ACCOUNTS  # written + retried later = the input
    assert sync.status()["staged"].get("customer", 0) == waiting  # none lost: they wait
    erp_adapter.faults = None
    for _ in range(3):
        sync.run(["customer"])
    assert len(erp.find("party.party")) == ACCOUNTS
    for reference, events in erp_adapter.sent.items():
        after_done = events[events.index("done") + 1 :] if "done" in events else []
        assert "sent" not in after_done, f"{reference} was sent again after it was written"


def test_records_a_system_refuses_are_quarantined_and_the_rest_go_through(
    sqlite_url: str,
) -> None:
    crm, erp = company()
    faults = FaultPlan(seed=5, partial_failure=0.2, partial_status="failed")
    sync = engine(FakeCRMAdapter(crm), FakeERPAdapter(erp, faults=faults), sqlite_url)
    report = sync.run(["customer"])
    refused = faults.injected["partial_failure"]
    assert refused > 0
    assert report.entity("customer").erp.created == ACCOUNTS - refused
    quarantined = sync.quarantined()
    assert len(quarantined) == refused
    assert all("write refused" in q.reason and q.system == "fake-erp" for q in quarantined)
    # Once the cause is gone, retrying the quarantine brings them over.
    sync.crm.faults = None  # type: ignore[attr-defined]
    sync.erp.faults = None  # type: ignore[attr-defined]
    assert sync.retry_quarantined() == refused
    sync.run(["customer"])
    assert len(erp.find("party.party")) == ACCOUNTS
    assert sync.quarantined() == []


def test_an_edit_made_between_read_and_write_survives(sqlite_url: str) -> None:
    crm, erp = company(1)
    account = crm.find("Account")[0]["Id"]
    sync = engine(FakeCRMAdapter(crm), FakeERPAdapter(erp), sqlite_url)
    sync.run(["customer"])
    party = erp.find("party.party")[0]["id"]
    crm.edit("Account", account, Phone="+49 30 999999")

    def erp_user_edits(name: str) -> None:
        if name == "merge" and erp.read("party.party", party)["payment_term"] is None:
            erp.edit("party.party", party, payment_term="net 14")

    racing = SyncEngine(
        crm=sync.crm, erp=sync.erp, state=sync.state, worker_id="w", boundary=erp_user_edits
    )
    racing.run(["customer"])
    sync.run(["customer"])
    record = erp.read("party.party", party)
    assert record["payment_term"] == "net 14", "the ERP user's edit was overwritten"
    assert {"type": "phone", "value": "+4930999999"} in record["contact_mechanisms"]
    assert crm.read("Account", account)["Payment_Terms__c"] == "net 14"
    assert sync.run(["customer"]).writes == 0


def test_rate_limits_are_waited_out_as_told(sqlite_url: str) -> None:
    crm, erp = company(3)
    waits: list[float] = []
    faults = FaultPlan(seed=1, rate_limited=Trigger(at=frozenset({1, 2})), retry_after=7.5)
    sync = engine(
        FakeCRMAdapter(crm, faults=faults), FakeERPAdapter(erp), sqlite_url, sleep=waits.append
    )
    report = sync.run(["customer"])
    assert waits == [7.5, 7.5]
    assert report.stopped is None
    assert len(erp.find("party.party")) == 3


def test_past_the_retry_budget_the_run_stops_cleanly_with_its_cursor_kept(
    sqlite_url: str,
) -> None:
    crm, erp = company(30)
    waits: list[float] = []
    crm_adapter = FakeCRMAdapter(crm, page_size=10)
    sync = engine(
        crm_adapter,
        FakeERPAdapter(erp),
        sqlite_url,
        sleep=waits.append,
        retry=RetryPolicy(budget=60),
    )
    sync.run(["customer"])
    for n in range(30):
        crm.edit("Account", crm.find("Account")[n]["Id"], Phone=f"+49 30 {1000 + n}")
    with sync.state.transaction("default") as tx:
        cursor_before = tx.cursors.get("fake-crm", "customer")
    crm_adapter.faults = FaultPlan(
        seed=2, rate_limited=Trigger(at=frozenset({2, 3, 4})), retry_after=45
    )
    report = sync.run(["customer"])
    assert report.stopped is not None
    assert "retry budget" in report.stopped
    assert waits == [45]  # the second wait would pass the 60 s budget: not taken
    with sync.state.transaction("default") as tx:
        cursor_after = tx.cursors.get("fake-crm", "customer")
    assert cursor_after != cursor_before  # the first page was staged and its cursor kept
    crm_adapter.faults = None
    sync.run(["customer"])
    phones = {
        c["value"]
        for p in erp.find("party.party")
        for c in p["contact_mechanisms"]
        if c["type"] == "phone"
    }
    assert len(phones) == 30, "a change was lost when the run stopped"
    assert sync.run(["customer"]).writes == 0
