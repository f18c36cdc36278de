"""Promise 5: a second worker on the same scope stops with a named error."""

from __future__ import annotations

import pytest

from crmerp import LeaseHeld
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


def test_a_second_worker_stops_while_the_first_runs_and_nothing_is_duplicated(
    state_url: str,
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    for n in range(20):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    first_state = open_state(state_url, create=True)
    second_state = open_state(state_url)
    second = SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=second_state, worker_id="worker-2"
    )
    refused: list[LeaseHeld] = []

    def meanwhile(name: str) -> None:
        if name == "write.sent" and not refused:
            with pytest.raises(LeaseHeld) as info:
                second.run()
            refused.append(info.value)

    first = SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=first_state,
        worker_id="worker-1",
        boundary=meanwhile,
    )
    first.run()
    assert refused
    assert refused[0].holder == "worker-1"
    assert refused[0].scope == "default"
    assert len(erp.find("party.party")) == 20
    # Once the first is done the second may run, and finds nothing to do.
    assert second.run().writes == 0
    assert len(erp.find("party.party")) == 20
    first_state.close()
    second_state.close()


def test_workers_on_different_scopes_do_not_block_each_other(sqlite_url: str) -> None:
    state = open_state(sqlite_url, create=True)
    crm, erp = FakeCRM(), FakeERP()
    crm.create("Account", Name="Acme", Email__c="a@acme.de")
    other = SyncEngine(
        crm=FakeCRMAdapter(FakeCRM()),
        erp=FakeERPAdapter(FakeERP()),
        state=state,
        scope="eu",
        worker_id="eu-worker",
    )

    def meanwhile(name: str) -> None:
        if name == "page.read":
            other.run()

    SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=state,
        scope="us",
        worker_id="us-worker",
        boundary=meanwhile,
    ).run()
    assert len(erp.find("party.party")) == 1
    state.close()
