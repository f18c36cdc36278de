"""Paging under mutation (promise 1): records inserted, edited and deleted while a
read pages through them are all applied on the other side, in that run or the next.

Users of both systems act between the pages the engine reads (``FaultPlan``
``while_paging``): they insert customers and products, rename records already
read and records not read yet, and delete both kinds. Every customer is known by
an email that never changes, so the checks look for it in each system as a user
would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from crmerp import TransientError
from crmerp.sync import DeletePolicy, RetryPolicy, Rules
from crmerp.testing import FaultPlan, Trigger
from tests.reliability._helpers import (
    TALLY,
    World,
    assert_agree,
    assert_no_duplicates,
    make_world,
    scaled,
    tally_run,
    unlinked,
)

_DEFAULTS = Rules.default()
ARCHIVING = attrs.evolve(
    _DEFAULTS,
    entities={
        **_DEFAULTS.entities,
        **{
            e: attrs.evolve(_DEFAULTS.entity(e), deletes=DeletePolicy.ARCHIVE)
            for e in ("customer", "product")
        },
    },
)
"""A customer or product deleted on one side is archived on the other (as by default)."""


@attrs.define
class Family:
    """One customer or product as the users know it, whichever system holds it."""

    key: str  # an email (customers) or a SKU (products): never edited
    owner: str  # the side whose users edit and delete it
    name: str
    deleted: bool = False
    synced: bool = False  # on both sides after a run


@attrs.define
class Users:
    """Users of both systems who act between the pages of the engine's reads."""

    world: World
    rng: random.Random
    budget: int
    delete_unsynced: bool = False
    families: dict[str, Family] = attrs.Factory(dict)
    serial: int = 0
    acted: int = 0

    # --- records ----------------------------------------------------------------

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def add_customer(self, owner: str) -> None:
        n = self._next()
        family = Family(f"user{n}@example.com", owner, f"Customer {n}")
        if owner == "crm":
            self.world.crm.create("Account", Name=family.name, Email__c=family.key)
        else:
            self.world.erp.create(
                "party.party",
                name=family.name,
                contact_mechanisms=[{"type": "email", "value": family.key}],
            )
        self.families[family.key] = family

    def add_product(self) -> None:
        n = self._next()
        family = Family(f"SKU-{n}", "erp", f"Product {n}")
        self.world.erp.create("product.product", code=family.key, name=family.name)
        self.families[family.key] = family

    def _native(self, family: Family) -> tuple[str, Any] | None:
        """(table, id) of the family's record on its owner's side, if live."""
        if family.key.startswith("SKU-"):
            rows = self.world.erp.find("product.product", code=family.key)
            return ("product.product", rows[0]["id"]) if rows else None
        if family.owner == "crm":
            rows = self.world.crm.find("Account", Email__c=family.key)
            return ("Account", rows[0]["Id"]) if rows else None
        for row in self.world.erp.find("party.party"):
            if {"type": "email", "value": family.key} in row["contact_mechanisms"]:
                return "party.party", row["id"]
        return None

    def rename(self, family: Family) -> None:
        found = self._native(family)
        if found is None:
            return
        table, native = found
        family.name = f"{family.name.split(' (')[0]} ({self._next()})"
        fake = self.world.crm if table == "Account" else self.world.erp
        fake.edit(table, native, {"Name" if table == "Account" else "name": family.name})

    def delete(self, family: Family) -> None:
        found = self._native(family)
        if found is None:
            return
        table, native = found
        fake = self.world.crm if table == "Account" else self.world.erp
        fake.delete(table, native)
        family.deleted = True

    # --- acting between pages ---------------------------------------------------

    def act(self) -> None:
        """One to three random user actions, while the budget lasts."""
        for _ in range(self.rng.randint(1, 3)):
            if self.acted >= self.budget:
                return
            self.acted += 1
            live = [f for f in self.families.values() if not f.deleted]
            deletable = [f for f in live if f.synced or self.delete_unsynced]
            action = self.rng.choice(["add", "add", "rename", "rename", "rename", "delete"])
            if action == "add" or not live:
                if self.rng.random() < 0.25:
                    self.add_product()
                else:
                    self.add_customer(self.rng.choice(["crm", "erp"]))
            elif action == "rename" or not deletable:
                self.rename(self.rng.choice(live))
            else:
                self.delete(self.rng.choice(deletable))

    def synced(self) -> None:
        """Note the records now on both sides (after a run)."""
        for family in self.families.values():
            rows = _product_rows if family.key.startswith("SKU-") else _customer_rows
            crm, erp = rows(self.world, family.key)
            family.synced = family.synced or (len(crm) == 1 and len(erp) == 1)

    def between_pages(self) -> Callable[[str, int], None]:
        def hook(_entity: str, _page: int) -> None:
            self.act()

        return hook


def _customer_rows(world: World, key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    crm = world.crm.find("Account", Email__c=key)
    erp = [
        row
        for row in world.erp.find("party.party")
        if {"type": "email", "value": key} in row["contact_mechanisms"]
    ]
    return crm, erp


def _product_rows(world: World, key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return world.crm.find("Product2", ProductCode=key), world.erp.find("product.product", code=key)


def _active(row: dict[str, Any]) -> bool:
    value = row.get("Active__c", row.get("IsActive", row.get("active", True)))
    return value in (True, "Yes")


def assert_nothing_missed(users: Users) -> None:
    """Every family is on both sides with its last name, or deleted where it was and
    archived (or never created) on the other side."""
    world = users.world
    for family in users.families.values():
        product = family.key.startswith("SKU-")
        crm, erp = (_product_rows if product else _customer_rows)(world, family.key)
        mine, theirs = (crm, erp) if family.owner == "crm" else (erp, crm)
        assert len(crm) <= 1, f"{family.key} twice in the CRM"
        assert len(erp) <= 1, f"{family.key} twice in the ERP"
        if family.deleted:
            assert mine == []
            assert all(not _active(row) for row in theirs), f"{family.key} not archived"
            continue
        if len(theirs) != 1:
            TALLY.lost_updates += 1
        assert len(theirs) == 1, f"{family.key} ({family.owner}) never reached the other side"
        names = {row.get("Name", row.get("name")) for row in crm + erp}
        if names != {family.name}:
            TALLY.lost_updates += 1
        assert names == {family.name}, f"{family.key}: {names} != {family.name!r}"


def _settle(users: Users, runs: int = 1) -> None:
    """Stop the users; after the next run (``runs``) nothing may be missing."""
    world = users.world
    users.budget = users.acted
    world.faults(None, None)
    engine = world.engine()
    for _ in range(runs):
        tally_run(engine.run())
    assert_nothing_missed(users)
    assert_agree(world, "customer", "product")
    assert_no_duplicates(world, ["customer", "product"])
    assert unlinked(world, "customer") == []
    assert unlinked(world, "product") == []
    assert tally_run(engine.run()).writes == 0


def _paged_world(seed: int, page_size: int) -> Users:
    world = make_world(rules=ARCHIVING, page_size=page_size)
    users = Users(world, random.Random(seed), budget=0)
    for n in range(scaled(12, 60)):
        users.add_customer("crm" if n % 2 else "erp")
        if n % 3 == 0:
            users.add_product()
    return users


def _paged_run(seed: int, *, delete_unsynced: bool) -> None:
    users = _paged_world(seed, page_size=3)
    users.delete_unsynced = delete_unsynced
    engine = users.world.engine()
    if not delete_unsynced:
        tally_run(engine.run())
        users.synced()
    users.budget = scaled(40, 150)
    hook = users.between_pages()
    users.world.faults(FaultPlan(seed=seed, while_paging=hook), FaultPlan(while_paging=hook))
    TALLY.seeds += 1
    tally_run(engine.run())
    try:
        _settle(users)
    finally:
        users.world.close()


@pytest.mark.parametrize("seed", range(scaled(6, 120)))
def test_changes_made_while_a_read_pages_all_arrive(seed: int) -> None:
    _paged_run(seed, delete_unsynced=False)


@pytest.mark.parametrize("seed", range(scaled(3, 40)))
def test_changes_while_paging_across_several_runs(seed: int) -> None:
    """Users keep acting in every run, the first sync included; then they stop."""
    users = _paged_world(seed, page_size=4)
    engine = users.world.engine()
    hook = users.between_pages()
    TALLY.seeds += 1
    for _ in range(scaled(3, 8)):
        users.budget += scaled(10, 30)
        users.world.faults(FaultPlan(while_paging=hook), FaultPlan(while_paging=hook))
        tally_run(engine.run())
        users.synced()
    _settle(users)
    users.world.close()


def test_a_record_deleted_after_its_page_was_read_ends_deleted_or_archived() -> None:
    """Deleted after the run took its signpost: the run syncs the record as it was, the
    next run carries the delete over (the customer is archived on the other side)."""
    world = make_world(rules=ARCHIVING, page_size=1)
    gone = world.erp.create(
        "party.party", name="Gone Ltd", contact_mechanisms=[{"type": "email", "value": "g@ex.com"}]
    )
    world.erp.create(
        "party.party", name="Stays Ltd", contact_mechanisms=[{"type": "email", "value": "s@ex.com"}]
    )

    def delete_what_was_read(entity: str, page: int) -> None:
        if entity == "customer" and page == 1:
            world.erp.delete("party.party", gone)

    world.faults(None, FaultPlan(while_paging=delete_what_was_read))
    engine = world.engine()
    tally_run(engine.run())
    world.faults(None, None)
    tally_run(engine.run())
    active = [row["Name"] for row in world.crm.find("Account") if row["Active__c"] == "Yes"]
    assert active == ["Stays Ltd"]
    assert tally_run(engine.run()).writes == 0
    world.close()


def test_a_record_deleted_before_its_first_sync_succeeded_is_not_created_elsewhere() -> None:
    world = make_world(rules=ARCHIVING)
    gone = world.erp.create(
        "party.party", name="Gone Ltd", contact_mechanisms=[{"type": "email", "value": "g@ex.com"}]
    )
    engine = world.engine(retry=RetryPolicy(attempts=1))
    world.faults(FaultPlan(transient=Trigger(rate=1.0, on="write")), None)
    with pytest.raises(TransientError):
        engine.run()  # read and staged, but the CRM write failed
    world.faults(None, None)
    world.erp.delete("party.party", gone)
    tally_run(engine.run())
    assert world.crm.find("Account") == []
    world.close()


def test_records_deleted_right_after_they_were_created_stay_deleted() -> None:
    for seed in range(scaled(6, 40)):
        _paged_run(seed, delete_unsynced=True)


def test_a_record_edited_on_an_already_read_page_is_not_left_behind() -> None:
    world = make_world(rules=ARCHIVING, page_size=2)
    accounts = [
        world.crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
        for n in range(6)
    ]
    engine = world.engine()
    tally_run(engine.run())
    for account in accounts:
        world.crm.edit("Account", account, Phone="+49 30 1234567")

    def edit_what_was_read(entity: str, page: int) -> None:
        if entity == "customer" and page == 2:
            world.crm.edit("Account", accounts[0], Name="Customer 0 renamed")
            world.crm.delete("Account", accounts[1])

    world.faults(FaultPlan(while_paging=edit_what_was_read), None)
    tally_run(engine.run())
    world.faults(None, None)
    tally_run(engine.run())  # the edits came after the run's signpost
    names = sorted(row["name"] for row in world.erp.find("party.party") if row["active"])
    assert names == ["Customer 0 renamed", *(f"Customer {n}" for n in range(2, 6))]
    assert tally_run(engine.run()).writes == 0
    world.close()


def test_a_run_ends_while_users_keep_adding_records() -> None:
    world = make_world(rules=ARCHIVING, page_size=2)
    for n in range(10):
        world.crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    added: list[str] = []

    def keep_adding(entity: str, _page: int) -> None:
        # Faster than the engine reads (two a page), up to a safety cap for the test itself.
        for _ in range(3 if entity == "customer" and len(added) < 300 else 0):
            n = len(added)
            added.append(world.crm.create("Account", Name=f"New {n}", Email__c=f"n{n}@ex.com"))

    world.faults(FaultPlan(while_paging=keep_adding), None)
    report = tally_run(world.engine().run())
    world.faults(None, None)
    # The run reads what was there when it started (plus at most a page).
    assert report.entity("customer").crm.pulled <= 10 + 2
    tally_run(world.engine().run())
    assert len(world.erp.find("party.party")) == 10 + len(added)
    world.close()
