"""The engine on the two fakes: initial sync, merges, rules, documents, plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmerp.adapters import ENTITIES
from crmerp.models import Money
from tests.sync.conftest import World, crm_account, crm_order, erp_party, seed_catalogue


def _agree(world: World, entity: str) -> None:
    """Every record is linked on both sides and every field both carry agrees."""
    crm_side, erp_side = world.crm_adapter, world.erp_adapter
    carried = crm_side.mapping(entity).carried & erp_side.mapping(entity).carried
    with world.state.transaction("default") as tx:
        crm_ids = list(tx.links.native_ids(entity, crm_side.system))
        erp_ids = list(tx.links.native_ids(entity, erp_side.system))
        assert len(crm_ids) == len(erp_ids)
        crm_links = tx.links.by_native(entity, crm_side.system, crm_ids)
        erp_links = tx.links.by_native(entity, erp_side.system, erp_ids)
    by_gid = {gid: nid for nid, (gid, _h) in erp_links.items()}
    for record in crm_side.fetch(entity, crm_ids):
        gid = crm_links[record.id][0]
        (other,) = erp_side.fetch(entity, [by_gid[gid]])
        a = crm_side.to_canonical(entity, record).model_dump(include=carried)
        b = erp_side.to_canonical(entity, other).model_dump(include=carried)
        for ref in ("customer_id", "order_id", "quote_id", "lines", "items"):
            a.pop(ref, None)
            b.pop(ref, None)
        assert a == b, f"{entity} {record.id} and {other.id} disagree"


def _seed_company(world: World) -> dict[str, object]:
    ids = seed_catalogue(world.erp)
    acme = crm_account(
        world.crm, "Acme GmbH", "sales@acme.de", Phone="+49 30 1234567", CurrencyIsoCode="EUR"
    )
    globex = erp_party(
        world.erp,
        "Globex Ltd",
        "info@globex.co.uk",
        currency="GBP",
        credit_limit_amount=Decimal("5000.00"),
        credit_limit_currency="GBP",
    )
    ids.update(acme=acme, globex=globex)
    return ids


def test_initial_sync_makes_both_sides_agree_and_a_second_run_writes_nothing(
    world: World,
) -> None:
    _seed_company(world)
    engine = world.engine()
    first = engine.run()
    assert first.entity("customer").erp.created == 1
    assert first.entity("customer").crm.created == 1
    assert first.entity("product").crm.created == 2
    assert first.entity("price_list").crm.created == 1
    assert first.quarantined == 0
    for entity in ("customer", "product", "price_list"):
        _agree(world, entity)
    second = engine.run()
    assert second.writes == 0, second.summary()
    assert list(second.entities) == list(ENTITIES)


def test_documents_flow_in_dependency_order(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    account = ids["acme"]
    bolt_crm = world.crm.find("Product2", ProductCode="BOLT-1")[0]["Id"]
    quote = world.crm.create(
        "Opportunity",
        Name="Bolts for Acme",
        AccountId=account,
        StageName="Proposal/Price Quote",
        CurrencyIsoCode="EUR",
        OpportunityLineItems={
            "records": [
                {
                    "Product2Id": bolt_crm,
                    "Quantity": Decimal(200),
                    "UnitPrice": Decimal("0.40"),
                    "Discount": Decimal(10),
                    "Tax_Rate__c": Decimal(19),
                    "CurrencyIsoCode": "EUR",
                }
            ]
        },
    )
    report = engine.run()
    assert report.entity("quote").erp.created == 1
    (quotation,) = world.erp.find("sale.quotation")
    assert quotation["total_amount"] == Decimal("85.68")  # 200 x 0.40 -10% = 72.00 + 19% tax
    # The customer accepts: the CRM marks the opportunity won; the ERP gets an order.
    world.crm.edit("Opportunity", quote, StageName="Closed Won")
    report = engine.run()
    assert report.entity("order").erp.created == 1
    (sale,) = world.erp.find("sale.sale")
    assert sale["state"] == "confirmed"
    assert sale["quotation"] == quotation["id"]
    assert world.crm.read("Opportunity", quote)["StageName"] == "Converted"
    assert engine.run().writes == 0


def test_edits_to_different_fields_on_both_sides_both_survive(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party", name="Acme GmbH")[0]["id"]
    world.crm.edit("Account", ids["acme"], Email__c="orders@acme.de")
    world.erp.edit("party.party", party, payment_term="net 60")
    report = engine.run()
    assert report.entity("customer").crm.updated == 1
    assert report.entity("customer").erp.updated == 1
    assert world.crm.read("Account", ids["acme"])["Payment_Terms__c"] == "net 60"
    mechanisms = world.erp.read("party.party", party)["contact_mechanisms"]
    assert {"type": "email", "value": "orders@acme.de"} in mechanisms
    _agree(world, "customer")
    assert engine.run().writes == 0


def test_same_field_on_both_sides_follows_its_owner(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party", name="Acme GmbH")[0]["id"]
    world.crm.edit("Account", ids["acme"], Payment_Terms__c="net 10")
    world.erp.edit("party.party", party, payment_term="net 90")
    report = engine.run()
    assert report.entity("customer").conflicts_resolved_by_rule == {"owner:erp": 1}
    assert world.crm.read("Account", ids["acme"])["Payment_Terms__c"] == "net 90"
    assert engine.run().writes == 0


def test_a_parked_conflict_is_resolved_through_resolve(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party", name="Acme GmbH")[0]["id"]
    world.crm.edit("Account", ids["acme"], Name="Acme Deutschland GmbH")
    world.erp.edit("party.party", party, name="ACME Holding GmbH")
    report = engine.run()
    assert report.conflicts_parked == 1
    (conflict,) = engine.conflicts()
    assert (conflict.field, conflict.crm, conflict.erp) == (
        "name",
        "Acme Deutschland GmbH",
        "ACME Holding GmbH",
    )
    # Parked: neither side is overwritten, and another run neither writes nor re-parks.
    assert world.crm.read("Account", ids["acme"])["Name"] == "Acme Deutschland GmbH"
    again = engine.run()
    assert again.writes == 0
    assert len(engine.conflicts()) == 1
    engine.resolve(conflict.id, pick="crm")
    engine.run()
    assert world.erp.read("party.party", party)["name"] == "Acme Deutschland GmbH"
    assert engine.conflicts() == []
    assert engine.run().writes == 0


def test_price_changes_in_the_erp_reach_the_crm(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    lines = world.erp.read("product.price_list", ids["prices"])["lines"]
    lines[0]["unit_price"] = Decimal("0.45")
    world.erp.edit("product.price_list", ids["prices"], lines=lines)
    report = engine.run()
    assert report.entity("price_list").crm.updated == 1
    (book,) = world.crm.find("Pricebook2")
    prices = sorted(Decimal(e["UnitPrice"]) for e in book["PricebookEntries"]["records"])
    assert prices == [Decimal("0.15"), Decimal("0.40"), Decimal("0.45")]


def test_a_price_edited_in_the_crm_is_put_back_from_the_erp(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    (book,) = world.crm.find("Pricebook2")
    entries = book["PricebookEntries"]["records"]
    entries[0]["UnitPrice"] = Decimal("0.01")
    world.crm.edit("Pricebook2", book["Id"], PricebookEntries={"records": entries})
    engine.run()
    restored = world.crm.read("Pricebook2", book["Id"])["PricebookEntries"]["records"]
    assert Decimal("0.01") not in {Decimal(e["UnitPrice"]) for e in restored}
    assert ids["prices"]


def test_invoice_and_order_status_come_back_to_the_crm(world: World) -> None:
    ids = _seed_company(world)
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party", name="Acme GmbH")[0]["id"]
    order = world.crm.create(
        "Order",
        AccountId=ids["acme"],
        Status="Activated",
        CurrencyIsoCode="EUR",
        OrderItems={
            "records": [
                {
                    "Product2Id": world.crm.find("Product2")[0]["Id"],
                    "Quantity": Decimal(3),
                    "UnitPrice": Decimal("0.40"),
                    "CurrencyIsoCode": "EUR",
                }
            ]
        },
    )
    engine.run()
    (sale,) = world.erp.find("sale.sale")
    world.erp.edit("sale.sale", sale["id"], state="done")
    world.erp.create(
        "account.invoice",
        party=party,
        sale=sale["id"],
        currency="EUR",
        state="posted",
        number="INV-1",
        lines=[
            {
                "product": ids["bolt"],
                "quantity": Decimal(3),
                "unit_price": Decimal("0.40"),
                "tax_rate": Decimal(19),
            }
        ],
    )
    report = engine.run()
    assert report.entity("invoice").crm.created == 1
    assert world.crm.read("Order", order)["Status"] == "Invoiced"
    (invoice,) = world.crm.find("Invoice__c")
    assert invoice["Status__c"] == "Posted"
    assert invoice["Order__c"] == order
    assert engine.run().writes == 0


def test_an_order_whose_customer_is_not_synced_waits_then_goes_through(world: World) -> None:
    seed_catalogue(world.erp)
    engine = world.engine()
    engine.run()
    account = crm_account(world.crm, "Initech", "it@initech.com")
    product = world.crm.find("Product2")[0]["Id"]
    crm_order(world.crm, account, product)
    # Only orders this time: the customer has not been synced yet.
    report = engine.run(["order"])
    assert report.deferred == 1
    assert world.erp.find("sale.sale") == []
    report = engine.run()
    assert report.entity("order").erp.created == 1
    (sale,) = world.erp.find("sale.sale")
    assert world.erp.read("party.party", sale["party"])["name"] == "Initech"


@pytest.mark.parametrize(
    ("currency", "amount"), [("JPY", "1234567"), ("EUR", "1234567.89"), ("KWD", "1234.567")]
)
def test_money_survives_crm_to_erp_to_crm_bit_exact(
    world: World, currency: str, amount: str
) -> None:
    account = crm_account(world.crm, "Kuwait Trading", "ops@kt.example", CurrencyIsoCode=currency)
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party")[0]["id"]
    world.erp.edit(
        "party.party", party, credit_limit_amount=Decimal(amount), credit_limit_currency=currency
    )
    engine.run()
    stored = world.crm.read("Account", account)["Credit_Limit__c"]
    assert str(stored) == amount
    record = world.crm_adapter.fetch("customer", [account])[0]
    model = world.crm_adapter.to_canonical("customer", record)
    assert model.credit_limit == Money(amount, currency)  # type: ignore[attr-defined]
    assert str(model.credit_limit.amount) == amount  # type: ignore[attr-defined]


def test_plan_lists_exactly_what_run_writes_and_writes_nothing(world: World) -> None:
    _seed_company(world)
    engine = world.engine()
    before_crm, before_erp = world.crm.sequence(), world.erp.sequence()
    plan = engine.plan()
    assert world.crm.sequence() == before_crm
    assert world.erp.sequence() == before_erp
    with world.state.transaction("default") as tx:
        assert tx.links.count() == {}
    report = engine.run()
    assert len(plan.planned) == report.writes == 5
    planned = sorted((p.entity, p.side, p.kind) for p in plan.planned)
    assert planned == sorted(
        [
            ("customer", "crm", "create"),
            ("customer", "erp", "create"),
            ("product", "crm", "create"),
            ("product", "crm", "create"),
            ("price_list", "crm", "create"),
        ]
    )
    assert all(p.describe() for p in plan.planned)


def test_a_customer_in_both_systems_is_matched_not_duplicated(world: World) -> None:
    crm_account(world.crm, "Acme GmbH", "sales@acme.de")
    erp_party(world.erp, "ACME GmbH", "sales@acme.de", payment_term="net 30")
    report = world.engine().run()
    assert report.entity("customer").linked_by_match == 1
    assert len(world.crm.find("Account")) == 1
    assert len(world.erp.find("party.party")) == 1
    (account,) = world.crm.find("Account")
    assert account["Payment_Terms__c"] == "net 30"
    assert world.engine().run().writes == 0


def test_the_engines_own_writes_coming_back_are_dropped_as_echoes(world: World) -> None:
    _seed_company(world)
    engine = world.engine()
    first = engine.run()
    created_in_crm = sum(first.entity(e).crm.created for e in ENTITIES)
    created_in_erp = sum(first.entity(e).erp.created for e in ENTITIES)
    second = engine.run()
    crm_echoes = sum(second.entity(e).crm.echoes for e in ENTITIES)
    erp_echoes = sum(second.entity(e).erp.echoes for e in ENTITIES)
    assert (crm_echoes, erp_echoes) == (created_in_crm, created_in_erp)
    assert sum(second.entity(e).crm.staged + second.entity(e).erp.staged for e in ENTITIES) == 0
    assert second.writes == 0


def test_plan_counts_the_writes_of_records_whose_parents_are_new_too(world: World) -> None:
    seed_catalogue(world.erp)
    engine = world.engine()
    engine.run()
    product = world.crm.find("Product2")[0]["Id"]
    for n in range(3):
        account = crm_account(world.crm, f"New Customer {n}", f"new{n}@example.com")
        crm_order(world.crm, account, product)
    plan = engine.plan()
    report = engine.run()
    assert report.entity("order").erp.created == 3
    assert len(plan.planned) == report.writes
    assert sorted((p.entity, p.side, p.kind) for p in plan.planned) == sorted(
        [("customer", "erp", "create")] * 3 + [("order", "erp", "create")] * 3
    )
