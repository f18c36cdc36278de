"""Promise 5: a second worker on the same scope stops with a named error."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from crmerp import LeaseHeld, LeaseLost
from crmerp.state import StateStore, open_state
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


def _customers(crm: FakeCRM, count: int = 20) -> None:
    for n in range(count):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")


def _lapse(state: StateStore, engine: SyncEngine) -> None:
    """Let ``engine``'s leases expire, as if it had stalled past ``lease_ttl``."""
    with state.transaction("default") as tx:
        for lease in tx.leases.all():
            if lease.instance == engine.instance:
                tx.leases.acquire(
                    engine.worker_id,
                    timedelta(seconds=-1),
                    unit=lease.unit,
                    instance=engine.instance,
                )


def _references(erp: FakeERP) -> list[str]:
    return sorted(str(p.get("crmerp_ref")) for p in erp.find("party.party"))


def test_a_second_engine_with_the_same_worker_id_stops_while_the_first_holds_the_lease(
    state_url: str,
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    _customers(crm)
    state = open_state(state_url, create=True)
    second = SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id="sync-service"
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
        state=state,
        worker_id="sync-service",
        boundary=meanwhile,
    )
    first.run()
    assert refused
    assert (refused[0].holder, refused[0].instance) == ("sync-service", first.instance)
    assert first.instance != second.instance
    assert len(erp.find("party.party")) == 20
    assert second.run().writes == 0
    assert len(erp.find("party.party")) == 20
    state.close()


EARLY = ("page.read", "translate", "merge", "intent.recorded", "write.sent")
IN_FLIGHT = ("write.answered",)


@pytest.mark.parametrize("point", EARLY + IN_FLIGHT)
def test_a_worker_stalled_past_its_lease_stops_with_lease_lost_and_the_new_holder_wins(
    state_url: str, point: str
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    _customers(crm)
    state = open_state(state_url, create=True)
    after_takeover: dict[str, object] = {}

    def stall(name: str) -> None:
        if name != point or after_takeover:
            return
        _lapse(state, stalled)
        # The same service restarted elsewhere: another instance, same worker_id.
        report = SyncEngine(
            crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id="sync-service"
        ).run()
        assert report.stopped is None
        assert len(erp.find("party.party")) == 20
        after_takeover.update(
            crm=crm.sequence(), erp=erp.sequence(), refs=_references(erp), links=_links(state)
        )

    stalled = SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=state,
        worker_id="sync-service",
        boundary=stall,
    )
    with pytest.raises(LeaseLost) as lost:
        stalled.run()
    assert after_takeover, f"the run never reached {point}"
    assert lost.value.holder == "sync-service"
    assert lost.value.current_token == lost.value.token + 1
    if point in EARLY:  # stopped before sending anything more
        assert (crm.sequence(), erp.sequence()) == (after_takeover["crm"], after_takeover["erp"])
    # The new holder's result stands: no duplicate, no link lost, nothing left to do.
    assert _references(erp) == after_takeover["refs"]
    assert len(set(_references(erp))) == 20
    assert _links(state) == after_takeover["links"]
    later = SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id="someone-else"
    ).run()
    assert later.writes == 0
    assert _links(state) == after_takeover["links"]
    state.close()


def _links(state: StateStore) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Every customer link, by global id."""
    with state.transaction("default") as tx:
        natives = list(tx.links.native_ids("customer", "fake-crm"))
        found = tx.links.by_native("customer", "fake-crm", natives)
        return tx.links.by_global("customer", [g for g, _h in found.values()])


def test_the_token_grows_across_take_overs_and_stays_across_renewals(state_url: str) -> None:
    crm, erp = FakeCRM(), FakeERP()
    _customers(crm, 2)
    state = open_state(state_url, create=True)

    def engine(worker: str) -> SyncEngine:
        return SyncEngine(
            crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id=worker
        )

    def tokens(of: SyncEngine) -> dict[str, int]:
        leases = of.status()["leases"]
        return {unit: lease["token"] for unit, lease in leases.items()}

    first, second = engine("w"), engine("w")
    first.run()
    once = tokens(first)
    assert once["default|customer|0/1"] == 1
    first.run()  # the same instance again: a renewal
    assert tokens(first) == once
    second.run()  # another instance of the same worker
    assert tokens(second) == {unit: token + 1 for unit, token in once.items()}
    first.run()
    assert tokens(first) == {unit: token + 2 for unit, token in once.items()}
    state.close()


def test_a_lease_left_by_a_dead_process_of_this_host_is_taken_over(state_url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = f"sync-service@{socket.gethostname()}:{child.pid}:0123456789ab"
    elsewhere = "sync-service@another-host:1:0123456789ab"
    crm, erp = FakeCRM(), FakeERP()
    _customers(crm, 2)
    state = open_state(state_url, create=True)
    engine = SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, worker_id="sync-service"
    )
    unit = "default|customer|0/1"
    with state.transaction("default") as tx:
        tx.leases.acquire("sync-service", timedelta(minutes=10), unit=unit, instance=dead)
    assert engine.run().writes == 2
    assert engine.status()["leases"][unit]["token"] == 2
    with state.transaction("default") as tx:  # live, on another host: nothing to tell it is dead
        tx.leases.acquire("sync-service", timedelta(minutes=10), unit=unit, instance=elsewhere)
    with pytest.raises(LeaseHeld) as info:
        engine.run()
    assert info.value.instance == elsewhere
    state.close()


def test_recovery_settles_only_the_intents_of_units_the_worker_holds(sqlite_url: str) -> None:
    crm, erp = FakeCRM(), FakeERP()
    state = open_state(sqlite_url, create=True)
    with state.transaction("default") as tx:
        tx.intents.record(
            "crashed-run",
            [
                {
                    "entity": "order",
                    "system": "fake-erp",
                    "global_id": "g-1",
                    "kind": "update",
                    "reference": "ref-1",
                    "native_id": "1",
                    "payload_hash": "",
                }
            ],
            unit="default|order|0/1",
        )

    def engine() -> SyncEngine:
        return SyncEngine(crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state)

    assert engine().run(["customer"]).recovered_intents == 0
    with state.transaction("default") as tx:
        assert [i.unit for i in tx.intents.open()] == ["default|order|0/1"]
    assert engine().run(["order"]).recovered_intents == 1
    with state.transaction("default") as tx:
        assert tx.intents.open() == []
    state.close()


def test_a_run_told_to_wait_for_the_lease_takes_it_once_it_is_given_up(sqlite_url: str) -> None:
    crm, erp = FakeCRM(), FakeERP()
    _customers(crm, 2)
    state = open_state(sqlite_url, create=True)
    elsewhere = "sync-service@another-host:1:0123456789ab"
    with state.transaction("default") as tx:
        tx.leases.acquire(
            "sync-service",
            timedelta(minutes=10),
            unit="default|customer|0/1",
            instance=elsewhere,
        )
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:  # the other worker finishes meanwhile
            with state.transaction("default") as tx:
                tx.leases.release("sync-service", instance=elsewhere)

    def engine(wait: timedelta) -> SyncEngine:
        return SyncEngine(
            crm=FakeCRMAdapter(crm),
            erp=FakeERPAdapter(erp),
            state=state,
            worker_id="sync-service",
            lease_wait=wait,
            sleep=nap,
        )

    with pytest.raises(LeaseHeld):
        engine(timedelta(0)).run()
    assert naps == []
    with pytest.raises(LeaseHeld):  # waited its 8 seconds, the lease is still held
        engine(timedelta(seconds=8)).run()
    assert naps == [5.0, 3.0]
    assert engine(timedelta(minutes=1)).run().writes == 2
    assert naps == [5.0, 3.0, 5.0]
    state.close()
