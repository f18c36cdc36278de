"""Promise 5 in real time: a worker stalled inside a remote call for longer than its
lease, in a thread of its own, while its lease expires on the clock.

The stall is the ``stall`` fault of :class:`~crmerp.testing.FaultPlan`: the call
blocks until the test lets it go on. Nothing here sleeps to wait: the test waits
for the stall's event, and the second worker waits for the lease the way the
engine does (``lease_wait``).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crmerp import LeaseLost
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter, FaultPlan, Trigger

ACCOUNTS = 12


@pytest.mark.parametrize("operation", ["write", "read"])
def test_a_worker_stalled_in_a_call_past_its_lease_loses_it_and_duplicates_nothing(
    state_url: str, operation: str
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    for n in range(ACCOUNTS):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    plan = FaultPlan(stall=Trigger(at=1, on=operation), stall_timeout=60)
    stalled_state, state = open_state(state_url, create=True), open_state(state_url)
    stalled = SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp, faults=plan),
        state=stalled_state,
        worker_id="worker-1",
        lease_ttl=timedelta(milliseconds=200),
        batch_size=5,
    )
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            stalled.run()
        except BaseException as exc:  # the thread's outcome, checked below
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert plan.stalled.wait(30), f"the first worker never reached its {operation}"
        # The lease runs out for real while the first worker hangs; the second
        # one waits for that and takes the unit over.
        report = SyncEngine(
            crm=FakeCRMAdapter(crm),
            erp=FakeERPAdapter(erp),
            state=state,
            worker_id="worker-2",
            lease_wait=timedelta(seconds=1),
        ).run()
        assert report.stopped is None
        taken_over = sorted(str(p["crmerp_ref"]) for p in erp.find("party.party"))
    finally:
        plan.resume.set()
        thread.join(60)
    assert not thread.is_alive()
    assert [type(exc) for exc in outcome] == [LeaseLost]
    # The stalled worker's call went on once released, but wrote nothing new:
    # one ERP party per account, as the new holder left it, and nothing to do.
    refs = sorted(str(p["crmerp_ref"]) for p in erp.find("party.party"))
    assert refs == taken_over
    assert len(set(refs)) == ACCOUNTS
    again = SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id="worker-3"
    ).run()
    assert again.writes == 0
    stalled_state.close()
    state.close()
