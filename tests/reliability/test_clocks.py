"""Clock skew and clocks that step back (promises 1 and 3).

The two fakes keep their own server time: an hour apart, far in the future or
the past, or jumping backwards. No edit is lost because of a stamp, and a
field both sides changed under "latest change wins" goes to the side whose own
stamp is later, or is parked when the stamps cannot tell; the engine's clock
never decides.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crmerp.adapters import parse_datetime
from crmerp.sync import Direction, FieldRule, Policy, Rules
from crmerp.testing import FakeClock, FaultPlan, Trigger
from tests.reliability._helpers import (
    TALLY,
    World,
    assert_agree,
    assert_no_duplicates,
    make_world,
    scaled,
    tally_run,
)

LATEST_TERMS = Rules.default().with_field(
    "customer", "payment_terms", FieldRule(Direction.BOTH, Policy.LATEST)
)
"""Default rules, but the latest change to a customer's payment terms wins."""

NOON = datetime(2024, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def _world(crm_start: datetime, erp_start: datetime, tick: timedelta = SECOND) -> World:
    return make_world(
        rules=LATEST_TERMS,
        crm_clock=FakeClock(crm_start, tick=tick),
        erp_clock=FakeClock(erp_start, tick=tick),
    )


def _synced_customer(world: World) -> tuple[str, int]:
    account = world.crm.create("Account", Name="Acme GmbH", Email__c="sales@acme.example")
    tally_run(world.engine().run())
    (party,) = world.erp.find("party.party")
    return account, party["id"]


def _stamps(world: World, account: str, party: int) -> tuple[datetime, datetime]:
    """Each system's own modification stamp of the record, as it shows it."""
    crm_row, erp_row = world.crm.read("Account", account), world.erp.read("party.party", party)
    assert crm_row is not None
    assert erp_row is not None
    crm_at = parse_datetime(crm_row["LastModifiedDate"])
    erp_at = parse_datetime(erp_row["write_date"])
    assert crm_at is not None
    assert erp_at is not None
    return crm_at, erp_at


def _terms(world: World, account: str, party: int) -> tuple[str | None, str | None]:
    crm_row, erp_row = world.crm.read("Account", account), world.erp.read("party.party", party)
    assert crm_row is not None
    assert erp_row is not None
    return crm_row.get("Payment_Terms__c"), erp_row.get("payment_term")


CLOCKS = {
    "erp an hour ahead": (NOON, NOON + HOUR),
    "crm an hour ahead": (NOON + HOUR, NOON),
    "both far in the future": (
        datetime(2099, 1, 1, tzinfo=UTC),
        datetime(2099, 1, 1, 1, tzinfo=UTC),
    ),
    "both in the past, crm ahead": (
        datetime(1999, 1, 1, 1, tzinfo=UTC),
        datetime(1999, 1, 1, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize(("crm_start", "erp_start"), CLOCKS.values(), ids=list(CLOCKS))
def test_latest_change_wins_by_the_systems_own_stamps(
    crm_start: datetime, erp_start: datetime
) -> None:
    world = _world(crm_start, erp_start)
    account, party = _synced_customer(world)
    # The ERP user edits first, the CRM user a little later (in real life).
    world.erp.edit("party.party", party, payment_term="net 60")
    world.crm.edit("Account", account, Payment_Terms__c="net 10")
    crm_at, erp_at = _stamps(world, account, party)
    winner = "net 10" if crm_at > erp_at else "net 60"
    report = tally_run(world.engine().run())
    assert _terms(world, account, party) == (winner, winner)
    assert report.entity("customer").conflicts_resolved_by_rule == {"latest": 1}
    assert world.engine().conflicts() == []
    assert tally_run(world.engine().run()).writes == 0
    world.close()


def test_an_erp_clock_an_hour_ahead_wins_over_a_later_crm_edit() -> None:
    world = _world(NOON, NOON + HOUR)
    account, party = _synced_customer(world)
    world.erp.edit("party.party", party, payment_term="net 60")
    world.crm.clock.advance(timedelta(minutes=10))
    world.crm.edit("Account", account, Payment_Terms__c="net 10")
    tally_run(world.engine().run())
    # The CRM edit came ten minutes later, but the ERP's own stamp says 50 minutes
    # after it: the systems' stamps decide, as declared.
    assert _terms(world, account, party) == ("net 60", "net 60")
    world.close()


def test_equal_stamps_are_parked_not_guessed() -> None:
    world = _world(NOON, NOON, tick=timedelta(0))
    account, party = _synced_customer(world)
    world.erp.edit("party.party", party, payment_term="net 60")
    world.crm.edit("Account", account, Payment_Terms__c="net 10")
    crm_at, erp_at = _stamps(world, account, party)
    assert crm_at == erp_at
    engine = world.engine()
    report = tally_run(engine.run())
    assert report.conflicts_parked == 1
    (conflict,) = engine.conflicts()
    assert (conflict.field, conflict.crm, conflict.erp) == ("payment_terms", "net 10", "net 60")
    assert "stamps" in conflict.detail["reason"]
    assert _terms(world, account, party) == ("net 10", "net 60")
    engine.resolve(conflict.id, pick="erp")
    tally_run(engine.run())
    assert _terms(world, account, party) == ("net 60", "net 60")
    assert tally_run(engine.run()).writes == 0
    world.close()


@pytest.mark.parametrize("side", ["crm", "erp"])
def test_an_edit_stamped_before_the_last_sync_is_not_lost(side: str) -> None:
    world = _world(NOON, NOON)
    account, party = _synced_customer(world)
    world.crm.edit("Account", account, Name="Acme Deutschland GmbH")
    tally_run(world.engine().run())
    fake = world.crm if side == "crm" else world.erp
    fake.clock.step_back(timedelta(hours=3))  # an NTP correction on that server
    if side == "crm":
        world.crm.edit("Account", account, Email__c="orders@acme.example")
    else:
        world.erp.edit(
            "party.party",
            party,
            contact_mechanisms=[{"type": "email", "value": "orders@acme.example"}],
        )
    crm_at, erp_at = _stamps(world, account, party)
    assert min(crm_at, erp_at) < NOON  # older than anything synced before
    report = tally_run(world.engine().run())
    assert report.writes == 1
    assert_agree(world, "customer")
    (record,) = world.crm_adapter.fetch("customer", [account])
    assert world.crm_adapter.to_canonical("customer", record).emails == [  # type: ignore[attr-defined]
        "orders@acme.example"
    ]
    world.close()


def test_after_a_step_back_the_systems_stamps_still_decide() -> None:
    world = _world(NOON, NOON)
    account, party = _synced_customer(world)
    world.erp.edit("party.party", party, payment_term="net 60")
    world.crm.clock.step_back(HOUR)
    world.crm.edit("Account", account, Payment_Terms__c="net 10")  # later, but stamped earlier
    crm_at, erp_at = _stamps(world, account, party)
    assert crm_at < erp_at
    tally_run(world.engine().run())
    assert _terms(world, account, party) == ("net 60", "net 60")
    world.close()


@pytest.mark.parametrize("seed", range(scaled(4, 60)))
def test_skewed_and_stepping_clocks_lose_no_update(seed: int) -> None:
    """Rounds of edits on both sides while both clocks skew and jump back.

    Each round edits every record on one side at random (and some on both, where
    the latest stamp must win); a run follows with clocks stepping back on
    adapter calls. After each round every edit is on both sides.
    """
    rng = random.Random(seed)
    world = _world(NOON, NOON + timedelta(minutes=rng.randint(-90, 90)))
    engine = world.engine()
    accounts = [
        world.crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
        for n in range(scaled(4, 12))
    ]
    tally_run(engine.run())
    parties = {
        a: world.erp.find("party.party", name=f"Customer {n}")[0]["id"]
        for n, a in enumerate(accounts)
    }
    TALLY.seeds += 1
    for round_ in range(scaled(4, 10)):
        expected = {}
        for account in accounts:
            party = parties[account]
            terms = f"net {seed}-{round_}-{account[-3:]}"
            who = rng.choice(["crm", "erp", "both"])
            if who in ("crm", "both"):
                world.crm.edit("Account", account, Payment_Terms__c=terms + "c")
            if rng.random() < 0.3:
                fake = rng.choice([world.crm, world.erp])
                fake.clock.step_back(timedelta(minutes=rng.randint(1, 120)))
            if who in ("erp", "both"):
                world.erp.edit("party.party", party, payment_term=terms + "e")
            if who == "both":
                crm_at, erp_at = _stamps(world, account, party)
                while crm_at == erp_at:  # equal stamps park; that has its own test
                    world.erp.edit("party.party", party, payment_term=terms + "e")
                    crm_at, erp_at = _stamps(world, account, party)
                expected[account] = terms + ("c" if crm_at > erp_at else "e")
            else:
                expected[account] = terms + who[0]
        plans = [
            FaultPlan(
                seed=seed * 100 + round_ * 2 + side,
                clock_skew=timedelta(minutes=rng.randint(-120, 120)),
                clock_step_back=Trigger(rate=0.3),
                clock_step_back_by=timedelta(minutes=rng.randint(1, 90)),
            )
            for side in (0, 1)
        ]
        world.faults(*plans)
        report = tally_run(engine.run())
        world.faults(None, None)
        assert report.conflicts_parked == 0, report.summary()
        for account, terms in expected.items():
            got = _terms(world, account, parties[account])
            if got != (terms, terms):
                TALLY.lost_updates += 1
            assert got == (terms, terms), f"round {round_}: {account}"
        assert_agree(world, "customer")
        assert_no_duplicates(world, ["customer"])
    assert tally_run(engine.run()).writes == 0
    world.close()
