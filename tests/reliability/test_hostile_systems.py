"""Promises 1, 2 and 4 under the faults real systems show (docs/reliability.md).

Each kind of fault is put on both fakes, once through their own ``faults`` and
once with the fakes wrapped in :class:`~crmerp.testing.FaultyAdapter` as an
integrator wraps their adapter. Users on both sides create and edit customers
between runs that meet the fault; once the faults stop, at most three runs make
both systems agree, every edit is the value both hold, nothing is duplicated,
and the run after that writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from crmerp import AdapterError, FatalError, RetryableError
from crmerp.adapters import Adapter
from crmerp.sync import RetryPolicy, SyncEngine
from crmerp.testing import FaultPlan, FaultyAdapter, Trigger
from tests.reliability._helpers import (
    World,
    assert_agree,
    assert_no_duplicates,
    count_faults,
    make_world,
    tally_run,
    unlinked,
)

RETRY = RetryPolicy(attempts=4, backoff=0.5, budget=10_000)

KINDS: dict[str, Callable[[int], FaultPlan]] = {
    "partial_apply": lambda seed: FaultPlan(seed=seed, partial_apply=0.5),
    "feed_duplicate": lambda seed: FaultPlan(seed=seed, feed_duplicate=0.5),
    "feed_reorder": lambda seed: FaultPlan(seed=seed, feed_reorder=0.7),
    "feed_short": lambda seed: FaultPlan(seed=seed, feed_short=0.5),
    "feed_late": lambda seed: FaultPlan(seed=seed, feed_late=0.5),
    "cursor_back": lambda seed: FaultPlan(seed=seed, cursor_back=0.3),
    "read_lag": lambda seed: FaultPlan(seed=seed, read_lag=1.0, lost_answer=0.3),
    "stale_answer": lambda seed: FaultPlan(seed=seed, stale_answer=0.5),
}
"""Fault kinds the engine rides out on its own: a run may stop with a retryable
error, and the next one carries on."""


@pytest.fixture
def world() -> Iterator[World]:
    """The two fakes with pages of three records, so that feeds have pages to cut."""
    made = make_world(page_size=3)
    yield made
    made.close()


def _adapters(world: World, wrapped: bool) -> tuple[Adapter, Adapter]:
    if not wrapped:
        return world.crm_adapter, world.erp_adapter
    return FaultyAdapter(world.crm_adapter), FaultyAdapter(world.erp_adapter)


def _put(
    adapters: tuple[Adapter, Adapter], plans: tuple[FaultPlan | None, FaultPlan | None]
) -> None:
    for adapter, plan in zip(adapters, plans, strict=True):
        adapter.faults = plan  # type: ignore[attr-defined]


class Users:
    """Both systems' users: creates and renames on each side, remembered."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.serial = 0
        self.names: dict[tuple[str, str], str] = {}  # (system, native id) -> last name

    def create(self, count: int) -> None:
        for _ in range(count):
            self.serial += 1
            n = self.serial
            account = self.world.crm.create(
                "Account", Name=f"Account {n}", Email__c=f"crm{n}@example.com"
            )
            self.names[("fake-crm", str(account))] = f"Account {n}"
            party = self.world.erp.create(
                "party.party",
                name=f"Party {n}",
                contact_mechanisms=[{"type": "email", "value": f"erp{n}@example.com"}],
            )
            self.names[("fake-erp", str(party))] = f"Party {n}"

    def rename(self, every: int) -> None:
        for index, (system, native) in enumerate(sorted(self.names)):
            if index % every:
                continue
            self.serial += 1
            name = f"Renamed {self.serial}"
            if system == "fake-crm":
                self.world.crm.edit("Account", native, Name=name)
            else:
                self.world.erp.edit("party.party", native, name=name)
            self.names[(system, native)] = name

    def check(self) -> None:
        """Each record's last name is the one both sides hold."""
        with self.world.state.transaction(self.world.scope) as tx:
            for (system, native), name in self.names.items():
                gid = tx.links.by_native("customer", system, [native])[native][0]
                systems = tx.links.by_global("customer", [gid])[gid]
                crm_row = self.world.crm.read("Account", systems["fake-crm"][0]) or {}
                erp_row = self.world.erp.read("party.party", systems["fake-erp"][0]) or {}
                assert crm_row["Name"] == name, f"{system} {native}: CRM has {crm_row['Name']!r}"
                assert erp_row["name"] == name, f"{system} {native}: ERP has {erp_row['name']!r}"


def _engine(world: World, adapters: tuple[Adapter, Adapter], **options: Any) -> SyncEngine:
    return SyncEngine(
        crm=adapters[0],
        erp=adapters[1],
        state=world.state,
        matcher=world.engine().matcher,
        rules=world.rules,
        scope=world.scope,
        sleep=world.waited.append,
        retry=RETRY,
        batch_size=4,
        **options,
    )


def _faulty_runs(engine: SyncEngine, times: int) -> list[str]:
    stops = []
    for _ in range(times):
        try:
            tally_run(engine.run())
        except RetryableError as exc:
            stops.append(type(exc).__name__)
    return stops


def _converge(world: World, engine: SyncEngine, users: Users) -> None:
    for _ in range(3):
        tally_run(engine.run())
    assert_agree(world, "customer")
    assert_no_duplicates(world, ["customer"])
    assert unlinked(world, "customer") == []
    users.check()
    assert engine.quarantined() == []
    last = tally_run(engine.run())
    assert last.writes == 0, f"a run after convergence wrote:\n{last.summary()}"


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_engine_rides_out_the_fault(kind: str, wrapped: bool, world: World) -> None:
    adapters = _adapters(world, wrapped)
    engine = _engine(world, adapters)
    users = Users(world)
    plans = (KINDS[kind](1), KINDS[kind](2))
    _put(adapters, plans)
    users.create(9)
    _faulty_runs(engine, 2)
    users.rename(every=3)
    users.create(3)
    _faulty_runs(engine, 2)
    _put(adapters, (None, None))
    count_faults(*plans)
    assert plans[0].injected[kind] + plans[1].injected[kind] > 0, f"no {kind} was injected"
    _converge(world, engine, users)


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
@pytest.mark.parametrize("operation", ["read", "fetch", "find", "write", "signpost"])
def test_an_exception_outside_the_error_tree_stops_the_run_by_name(
    operation: str, wrapped: bool, world: World
) -> None:
    adapters = _adapters(world, wrapped)
    engine = _engine(world, adapters)
    users = Users(world)
    users.create(6)
    tally_run(engine.run())
    users.rename(every=2)
    plan = FaultPlan(foreign_error=Trigger(at=1, on=operation), foreign_exception=KeyError)
    _put(adapters, (FaultPlan(), plan))
    if operation == "find":
        # Only crash recovery looks records up by reference: a write whose answer
        # was lost, then a run that stopped before it learned the outcome.
        adapters[1].faults = FaultPlan(  # type: ignore[attr-defined]
            lost_answer=Trigger(at=1), transient=Trigger(at={2, 3, 4, 5}, on="write")
        )
        users.create(2)
        with pytest.raises(RetryableError):
            engine.run()
        adapters[1].faults = plan  # type: ignore[attr-defined]
    with pytest.raises(AdapterError, match="KeyError") as info:
        engine.run()
    assert isinstance(info.value.__cause__, KeyError)
    assert "fake-erp" in str(info.value.call)
    assert plan.injected["foreign_error"] == 1
    _put(adapters, (None, None))
    _converge(world, engine, users)


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
def test_capabilities_that_raise_stop_the_run_by_name(wrapped: bool, world: World) -> None:
    adapters = _adapters(world, wrapped)
    engine = _engine(world, adapters)
    users = Users(world)
    users.create(3)
    _put(adapters, (FaultPlan(foreign_error=Trigger(at=1, on="capabilities")), None))
    with pytest.raises(AdapterError, match="capabilities fake-crm"):
        engine.run()
    _put(adapters, (None, None))
    _converge(world, engine, users)


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
def test_an_adapter_that_fails_to_close_does_not_keep_the_other_open(
    wrapped: bool, world: World
) -> None:
    closed: list[str] = []
    world.erp_adapter.close = lambda: closed.append("fake-erp")  # type: ignore[method-assign]
    adapters = _adapters(world, wrapped)
    _put(adapters, (FaultPlan(foreign_error=Trigger(at=1, on="close")), None))
    with pytest.raises(FatalError, match="closing fake-crm failed"):
        _engine(world, adapters).close()
    assert closed == ["fake-erp"]


LONG_NAME = "Müller Präzisionswerkzeuge und Söhne Kommanditgesellschaft"


def _normalising_erp(world: World, wrapped: bool) -> tuple[SyncEngine, FaultPlan]:
    adapters = _adapters(world, wrapped)
    plan = FaultPlan(normalise=1.0)
    _put(adapters, (None, plan))
    world.crm.create("Account", Name=LONG_NAME, Email__c="Anna.Berg@Example.COM")
    return _engine(world, adapters), plan


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
def test_a_system_that_rewrites_what_is_written_does_not_make_the_engine_loop(
    wrapped: bool, world: World
) -> None:
    engine, plan = _normalising_erp(world, wrapped)
    for _ in range(3):
        tally_run(engine.run())
    assert plan.injected["normalise"] > 0
    assert_no_duplicates(world, ["customer"])
    assert_agree(world, "customer")  # on the ERP's form of the values, see below
    (party,) = world.erp.find("party.party")
    assert party["name"] == LONG_NAME[:40]
    assert tally_run(engine.run()).writes == 0


@pytest.mark.xfail(
    strict=True,
    reason="not built yet: the engine reads a value the system rewrote on write (a name "
    "cut at 40 characters, an e-mail lower-cased) as that system's edit and writes it "
    "back over the CRM user's value, instead of parking the field with the reason",
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
def test_a_system_that_rewrites_what_is_written_is_reported_not_taken_for_an_edit(
    wrapped: bool, world: World
) -> None:
    engine, _plan = _normalising_erp(world, wrapped)
    for _ in range(3):
        tally_run(engine.run())
    (account,) = world.crm.find("Account")
    assert account["Name"] == LONG_NAME
    assert account["Email__c"] == "Anna.Berg@Example.COM"
    assert {c.field for c in engine.conflicts()} >= {"name", "emails"}


@pytest.mark.parametrize("wrapped", [False, True], ids=["fakes", "wrapped"])
def test_an_old_copy_delivered_late_does_not_undo_a_newer_edit(wrapped: bool, world: World) -> None:
    adapters = _adapters(world, wrapped)
    engine = _engine(world, adapters)
    account = world.crm.create("Account", Name="Acme", Email__c="a@acme.example")
    tally_run(engine.run())
    world.crm.edit("Account", account, Name="Acme v1")
    plan = FaultPlan(feed_late=Trigger(at=1))
    _put(adapters, (plan, None))
    tally_run(engine.run())  # the edit is held back: the cursor moves past it
    assert plan.held, "nothing was held back"
    world.crm.edit("Account", account, Name="Acme v2")
    tally_run(engine.run())  # v2 from the feed, then the held v1 with its older version
    assert not plan.held
    _put(adapters, (None, None))
    tally_run(engine.run())
    (party,) = world.erp.find("party.party")
    assert party["name"] == "Acme v2"
    assert (world.crm.read("Account", account) or {})["Name"] == "Acme v2"
    assert tally_run(engine.run()).writes == 0


@pytest.mark.xfail(
    strict=True,
    reason="found by the soak (issue 21): a customer entered in both systems whose CRM "
    "copy the feed holds back is created again in the CRM from the ERP's copy, because "
    "matching sees only what the feeds delivered; not fixed",
)
def test_a_customer_entered_in_both_whose_copy_the_feed_holds_back_is_not_duplicated(
    world: World,
) -> None:
    engine = world.engine()
    world.crm.create("Account", Name="Shared 1", Email__c="shared1@example.com")
    world.erp.create(
        "party.party",
        name="Shared 1 Ltd",
        contact_mechanisms=[{"type": "email", "value": "shared1@example.com"}],
    )
    plan = FaultPlan(feed_late=Trigger(at=1))
    world.crm_adapter.faults = plan
    tally_run(engine.run())  # the CRM account is held back
    tally_run(engine.run())  # and delivered now, late
    assert plan.injected["feed_late"] == 1
    world.crm_adapter.faults = None
    tally_run(engine.run())
    assert len(world.crm.find("Account")) == 1
    assert len(world.erp.find("party.party")) == 1
