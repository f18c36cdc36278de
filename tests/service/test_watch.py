"""The watcher: edits reach the other side through events and through the heartbeat,
repeats cost nothing, leases are held from start to stop."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from crmerp import LeaseHeld, LeaseLost, TransientError
from crmerp.adapters import Capabilities
from crmerp.service import Batch, Event, WatchMetrics
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter
from tests.service.conftest import HOUR, Company, ManualSource, batches_until, start


def _name(company: Company, account: str) -> str:
    return str(company.erp.read("party.party", company.customers[account])["name"])


def _edit(company: Company, side: str, account: str, name: str) -> str:
    """Rename the customer on ``side``; returns that system's name."""
    if side == "crm":
        company.crm.edit("Account", account, Name=name)
        return "fake-crm"
    company.erp.edit("party.party", company.customers[account], name=name)
    return "fake-erp"


def _shown(company: Company, side: str, account: str) -> str:
    """The customer's name as ``side`` shows it."""
    if side == "crm":
        return str(company.crm.read("Account", account)["Name"])
    return _name(company, account)


OTHER = {"crm": "erp", "erp": "crm"}


@pytest.mark.parametrize("side", ["crm", "erp"])
def test_an_edit_on_either_side_reaches_the_other_through_an_event(
    company: Company, side: str
) -> None:
    account = next(iter(company.customers))
    source = ManualSource()

    def act(batch: Batch, seen: list[Batch]) -> None:
        if batch.kind == "catch-up":
            system = _edit(company, side, account, "Renamed through an event")
            source.send(Event(entity="customer", system=system))

    seen, hook, _done = batches_until(lambda b, _: b.kind == "events", act)
    # A heartbeat of an hour: only the event can have run the customer.
    watcher = company.engine().watch([source], heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert [b.kind for b in seen] == ["catch-up", "events"]
    assert seen[1].entities == ("customer",)
    assert _shown(company, OTHER[side], account) == "Renamed through an event"
    assert source.stopped


@pytest.mark.parametrize("side", ["crm", "erp"])
def test_an_edit_on_either_side_reaches_the_other_through_the_heartbeat_when_events_are_lost(
    company: Company, side: str
) -> None:
    account = next(iter(company.customers))

    def act(batch: Batch, seen: list[Batch]) -> None:
        if batch.kind == "catch-up":
            _edit(company, side, account, "Renamed, no event sent")

    seen, hook, _done = batches_until(
        lambda b, _: b.kind == "heartbeat" and b.report is not None and b.report.writes > 0, act
    )
    watcher = company.engine().watch(
        heartbeat=timedelta(milliseconds=20), reconcile_every=None, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert _shown(company, OTHER[side], account) == "Renamed, no event sent"
    assert {b.kind for b in seen} == {"catch-up", "heartbeat"}


def test_a_repeated_delivery_is_dropped_and_writes_nothing(company: Company) -> None:
    account = next(iter(company.customers))
    source = ManualSource()
    metrics = WatchMetrics()

    def act(batch: Batch, seen: list[Batch]) -> None:
        if batch.kind == "catch-up":
            company.crm.edit("Account", account, Name="Once")
            source.send(Event(entity="customer", delivery="d-1"))
        elif len(seen) == 2:
            source.send(Event(entity="customer", delivery="d-1"))
            source.send(Event(entity="customer", delivery="d-1"))
            source.send(Event(entity="product", delivery="d-2"))

    seen, hook, _done = batches_until(lambda b, s: len(s) == 3, act)
    watcher = company.engine().watch(
        [source], heartbeat=HOUR, reconcile_every=None, metrics=metrics, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert [(b.kind, b.entities) for b in seen[1:]] == [
        ("events", ("customer",)),
        ("events", ("product",)),
    ]
    assert [b.report.writes for b in seen[1:] if b.report] == [1, 0]
    assert metrics.events.labels("duplicate")._value.get() == 2


def test_events_within_the_window_run_as_one_batch(company: Company) -> None:
    accounts = list(company.customers)
    source = ManualSource()

    def act(batch: Batch, seen: list[Batch]) -> None:
        if batch.kind == "catch-up":
            for i, account in enumerate(accounts):
                company.crm.edit("Account", account, Name=f"Batch {i}")
                source.send(Event(entity="customer", ids=(account,)))

    seen, hook, _done = batches_until(lambda b, _: b.kind == "events", act)
    watcher = company.engine().watch([source], heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert len(seen[1].events) == len(accounts)
    assert seen[1].report is not None
    assert seen[1].report.writes == len(accounts)


def test_the_watcher_holds_its_leases_from_start_to_stop(company: Company) -> None:
    held: list[BaseException] = []

    def act(batch: Batch, seen: list[Batch]) -> None:
        try:
            company.engine().run(["customer"])
        except LeaseHeld as exc:
            held.append(exc)
        watcher.stop()

    _seen, hook, _done = batches_until(lambda b, _: False, act)
    watcher = company.engine().watch(heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert len(held) == 1
    company.engine().run()  # released at the stop: another engine may run now


def test_a_watcher_whose_lease_is_taken_over_stops_with_lease_lost(company: Company) -> None:
    source = ManualSource()

    def act(batch: Batch, seen: list[Batch]) -> None:
        with company.state.transaction("default") as tx:
            tx.leases.acquire(
                "usurper",
                timedelta(minutes=10),
                unit="default|customer|0/1",
                instance="usurper@elsewhere",
                take_from=[watcher.engine.instance],
            )
        source.send(Event(entity="customer"))

    seen, hook, _done = batches_until(lambda b, _: b.report is None, act)
    watcher = company.engine().watch([source], heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    running = start(watcher)
    with pytest.raises(LeaseLost):
        running.join()
    assert source.stopped
    assert [b.kind for b in seen] == ["catch-up", "events"]


class NoFeedCRMAdapter(FakeCRMAdapter):
    """The fake CRM as a system without a change feed (every read is a full read)."""

    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), change_feed=False)


def test_a_system_without_a_change_feed_fetches_the_ids_an_event_names(
    company: Company,
) -> None:
    account = next(iter(company.customers))
    source = ManualSource()

    def act(batch: Batch, seen: list[Batch]) -> None:
        company.crm.edit("Account", account, Name="Fetched by id")
        source.send(Event(entity="customer", system="fake-crm", ids=(account,)))

    seen, hook, _done = batches_until(lambda b, _: b.kind == "events", act)
    engine = SyncEngine(
        crm=NoFeedCRMAdapter(company.crm), erp=FakeERPAdapter(company.erp), state=company.state
    )
    watcher = engine.watch([source], heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    report = seen[-1].report
    assert report is not None
    assert report.entity("customer").crm.pulled == 1  # not all of them
    assert _name(company, account) == "Fetched by id"


def test_a_record_an_event_names_that_is_gone_counts_as_deleted(
    company: Company,
) -> None:
    account, party = next(iter(company.customers.items()))
    source = ManualSource()

    def act(batch: Batch, seen: list[Batch]) -> None:
        company.crm.delete("Account", account)
        source.send(Event(entity="customer", system="fake-crm", ids=(account,)))

    seen, hook, _done = batches_until(lambda b, _: b.kind == "events", act)
    engine = SyncEngine(
        crm=NoFeedCRMAdapter(company.crm), erp=FakeERPAdapter(company.erp), state=company.state
    )
    watcher = engine.watch([source], heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    report = seen[-1].report
    assert report is not None
    assert report.entity("customer").crm.pulled == 0
    # The default rules archive a customer deleted on one side.
    assert report.entity("customer").erp.updated == 1
    assert company.erp.read("party.party", party)["active"] is False


def test_a_full_reconcile_runs_on_its_schedule(company: Company) -> None:
    seen, hook, _done = batches_until(lambda b, _: b.kind == "reconcile")
    watcher = company.engine().watch(
        heartbeat=HOUR, reconcile_every=timedelta(milliseconds=10), on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert [b.kind for b in seen] == ["catch-up", "reconcile"]
    assert seen[-1].report is not None
    assert seen[-1].report.mode == "reconcile"


def test_a_batch_that_fails_for_now_is_counted_and_the_next_heartbeat_tries_again(
    company: Company,
) -> None:
    account = next(iter(company.customers))
    failures = [TransientError("the ERP is restarting")]
    health: list[str] = []
    metrics = WatchMetrics()

    def flaky(step: str) -> None:
        if step == "merge" and failures:
            raise failures.pop()

    def act(batch: Batch, seen: list[Batch]) -> None:
        health.append(watcher.health().status)
        if batch.kind == "catch-up":
            company.crm.edit("Account", account, Name="After a failed batch")

    seen, hook, _done = batches_until(
        lambda b, _: b.report is not None and b.report.writes > 0, act
    )
    watcher = company.engine(boundary=flaky).watch(
        heartbeat=timedelta(milliseconds=20), reconcile_every=None, metrics=metrics, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    # The first batch with something to merge failed; the next one did the work.
    assert [(b.kind, b.report is None) for b in seen] == [
        ("catch-up", False),
        ("heartbeat", True),
        ("heartbeat", False),
    ]
    assert "ERP is restarting" in str(seen[1].error)
    assert health == ["ok", "failing"]
    assert _name(company, account) == "After a failed batch"
    assert metrics.runs.labels("heartbeat", "failed")._value.get() == 1
