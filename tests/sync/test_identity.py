"""Identity of a system instance: stamps another installation or instance made, and
copies that kept a stamp, are never trusted to link records."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from crmerp.adapters import reference_for, stamped_for
from crmerp.state import StateStore, open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
from tests.sync.conftest import World, crm_account, crm_order, erp_party, seed_catalogue

_OPENED: list[StateStore] = []


@pytest.fixture(autouse=True)
def _close_states() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


def _open(url: str) -> StateStore:
    state = open_state(url, create=True)
    _OPENED.append(state)
    return state


def _engine(crm: FakeCRM, erp: FakeERP, url: str) -> SyncEngine:
    return SyncEngine(crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=_open(url))


def _names(fake: FakeCRM | FakeERP, table: str, field: str) -> list[str]:
    return sorted(str(r[field]) for r in fake.find(table))


def test_a_crm_connected_to_another_erp_does_not_link_its_stamps_to_unrelated_records(
    tmp_path: Any,
) -> None:
    crm, erp_a = FakeCRM(), FakeERP()
    erp_party(erp_a, "Acme GmbH", "sales@acme.example")
    erp_a.create("product.product", code="ESP-001", name="Espresso machine Pro")
    first = _engine(crm, erp_a, f"sqlite:///{tmp_path / 'a.db'}")
    first.run()
    assert all(r["External_Id__c"] for r in crm.find("Product2"))  # stamped by the engine
    # A second ERP whose records have the same native ids as ERP A's, and a fresh state.
    erp_b = FakeERP()
    erp_party(erp_b, "Zeta AG", "info@zeta.example")
    erp_b.create("product.product", code="GRD-999", name="Grinder")
    second = _engine(crm, erp_b, f"sqlite:///{tmp_path / 'b.db'}")
    second.run()
    # Products are created from the ERP only (the default rules): ERP B keeps its own.
    assert _names(erp_b, "product.product", "code") == ["GRD-999"]
    assert _names(erp_b, "product.product", "name") == ["Grinder"]
    assert _names(crm, "Product2", "ProductCode") == ["ESP-001", "GRD-999"]
    assert _names(erp_b, "party.party", "name") == ["Acme GmbH", "Zeta AG"]
    assert _names(crm, "Account", "Name") == ["Acme GmbH", "Zeta AG"]
    assert second.run().writes == 0


def test_a_record_whose_stamp_the_state_does_not_know_goes_to_matching(tmp_path: Any) -> None:
    crm, erp_a = FakeCRM(), FakeERP()
    erp_party(erp_a, "Acme GmbH", "sales@acme.example")
    _engine(crm, erp_a, f"sqlite:///{tmp_path / 'a.db'}").run()
    # The same customer entered in another ERP (at another id), synced with a new state.
    erp_b = FakeERP()
    erp_b.delete("party.party", erp_party(erp_b, "Draft", "draft@example.com"))
    erp_party(erp_b, "Acme GmbH", "sales@acme.example")
    engine = _engine(crm, erp_b, f"sqlite:///{tmp_path / 'b.db'}")
    report = engine.run()
    assert report.entity("customer").linked_by_match == 1
    assert _names(crm, "Account", "Name") == ["Acme GmbH"]
    assert _names(erp_b, "party.party", "name") == ["Acme GmbH"]
    assert engine.run().writes == 0


def _synced_pair(world: World) -> tuple[SyncEngine, str, int]:
    party = erp_party(world.erp, "Acme GmbH", "sales@acme.example")
    engine = world.engine()
    engine.run()
    (account,) = world.crm.find("Account")
    assert account["External_Id__c"]
    return engine, str(account["Id"]), party


def _raw_copy(crm: FakeCRM, account_id: str, **changes: Any) -> str:
    """A copy of an account, imported with its reference field (no check runs)."""
    original = crm.read("Account", account_id)
    assert original is not None
    values = {k: v for k, v in original.items() if k not in FakeCRM.SYSTEM_FIELDS}
    return str(crm.store_raw("Account", {**values, **changes}))


def test_a_copy_that_kept_its_reference_goes_to_review_and_overwrites_nothing(
    world: World,
) -> None:
    engine, account, party = _synced_pair(world)
    copy = _raw_copy(world.crm, account, Name="Acme Copy", Email__c="copy@acme.example")
    report = engine.run()
    assert report.entity("customer").sent_to_review == 1
    (review,) = [c for c in engine.conflicts() if c.kind == "match"]
    assert review.detail["reason"] == f"copy: same reference as {account}"
    assert (review.crm, review.erp) == (copy, str(party))
    assert _names(world.erp, "party.party", "name") == ["Acme GmbH"]
    # Edited again, the copy still waits; the ERP record keeps following the original.
    world.crm.store_raw(
        "Account", {**world.crm.read("Account", copy), "Name": "Acme Copy 2"}, id=copy
    )
    engine.run()
    assert _names(world.erp, "party.party", "name") == ["Acme GmbH"]
    assert [c.id for c in engine.conflicts() if c.kind == "match"] == [review.id]
    engine.resolve(review.id, pick="new")
    engine.run()
    assert _names(world.erp, "party.party", "name") == ["Acme Copy 2", "Acme GmbH"]
    assert _names(world.crm, "Account", "Name") == ["Acme Copy 2", "Acme GmbH"]
    assert not engine.conflicts()
    assert engine.run().writes == 0


def test_a_copy_settled_as_the_same_record_takes_the_original_s_place(world: World) -> None:
    engine, account, party = _synced_pair(world)
    _raw_copy(world.crm, account, Name="Acme Group GmbH")
    engine.run()
    (review,) = [c for c in engine.conflicts() if c.kind == "match"]
    engine.resolve(review.id, pick="link")
    engine.run()
    assert _names(world.erp, "party.party", "name") == ["Acme Group GmbH"]
    assert world.erp.read("party.party", party)["name"] == "Acme Group GmbH"


def test_a_record_stamped_for_another_instance_is_not_linked_by_its_stamp(world: World) -> None:
    engine, account, party = _synced_pair(world)
    stamp = world.crm.read("Account", account)["External_Id__c"]
    assert stamped_for(stamp, world.crm_adapter.instance())
    # The same global id, stamped on another CRM (a sandbox) and imported from there.
    gid = stamp.removeprefix("crmerp:").split("@")[0]
    foreign = reference_for(gid, "sandbox.example.com")
    assert not stamped_for(foreign, world.crm_adapter.instance())
    world.crm.store_raw(
        "Account",
        {"Name": "Sandbox Test Co", "Email__c": "t@sandbox.example", "External_Id__c": foreign},
    )
    report = engine.run()
    assert report.entity("customer").sent_to_review == 0
    assert not engine.conflicts()
    assert _names(world.erp, "party.party", "name") == ["Acme GmbH", "Sandbox Test Co"]
    assert world.erp.read("party.party", party)["name"] == "Acme GmbH"
    assert engine.run().writes == 0


def test_a_fake_is_an_instance_of_its_own_and_keeps_it_in_its_file(tmp_path: Any) -> None:
    path = tmp_path / "crm.json"
    crm = FakeCRM(path)
    assert FakeCRM().instance != crm.instance
    crm.save()
    assert FakeCRMAdapter(path=path).instance() == crm.instance
    assert FakeERPAdapter(FakeERP(instance="erp.example.com/prod")).instance() == (
        "erp.example.com/prod"
    )


def _company(crm: FakeCRM, erp: FakeERP) -> str:
    products = seed_catalogue(erp)
    account = crm_account(crm, "Acme GmbH", "sales@acme.example")
    party = erp_party(erp, "Zeta AG", "info@zeta.example")
    erp.create(
        "sale.sale",
        party=party,
        currency="EUR",
        lines=[
            {"product": products["bolt"], "quantity": Decimal(3), "unit_price": Decimal("0.40")}
        ],
    )
    return account


@pytest.mark.parametrize("matcher", ["default", None])
def test_a_new_state_over_the_same_systems_links_what_the_engine_stamped(
    tmp_path: Any, matcher: str | None
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    account = _company(crm, erp)
    first = _engine(crm, erp, f"sqlite:///{tmp_path / 'a.db'}")
    first.run()
    (product,) = [p["Id"] for p in crm.find("Product2", ProductCode="BOLT-1")]
    crm_order(crm, account, product)
    first.run()
    before = {t: len(crm.find(t)) for t in ("Account", "Product2", "Pricebook2", "Order")}
    before |= {t: len(erp.find(t)) for t in ("party.party", "product.product", "sale.sale")}
    assert before["Order"] == before["sale.sale"] == 2
    # A state lost and made again: the stamps name ids it does not know.
    options = {} if matcher == "default" else {"matcher": None}
    again = SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=_open(f"sqlite:///{tmp_path / 'b.db'}"),
        **options,  # type: ignore[arg-type]
    )
    assert again.run().writes == 0
    after = {t: len(crm.find(t)) for t in ("Account", "Product2", "Pricebook2", "Order")}
    after |= {t: len(erp.find(t)) for t in ("party.party", "product.product", "sale.sale")}
    assert after == before
    crm.edit("Account", account, Phone="+49 30 1234567")
    assert again.run().writes == 1


def test_two_records_with_one_unknown_stamp_are_not_taken_for_one(
    tmp_path: Any, state_url: str
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    erp_party(erp, "Acme GmbH", "sales@acme.example")
    _engine(crm, erp, f"sqlite:///{tmp_path / 'a.db'}").run()
    (original,) = crm.find("Account")
    _raw_copy(crm, str(original["Id"]), Name="Acme Copy", Email__c="copy@acme.example")
    # A new state: neither record is linked, and they share one stamp. One record a
    # page, so the second is read after the first was staged.
    engine = SyncEngine(
        crm=FakeCRMAdapter(crm, page_size=1),
        erp=FakeERPAdapter(erp),
        state=_open(state_url),
    )
    engine.run()
    assert _names(erp, "party.party", "name") == ["Acme Copy", "Acme GmbH"]
    assert _names(crm, "Account", "Name") == ["Acme Copy", "Acme GmbH"]
    assert engine.run().writes == 0
