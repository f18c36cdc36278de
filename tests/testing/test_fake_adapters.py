"""The fakes through the adapter contract: what the engine sees of them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crmerp import MappingError, UsageError
from crmerp.adapters import ENTITIES, Adapter, WriteKind, WriteOp, WriteStatus, reference_for
from crmerp.models import Customer, Money, Order, Product
from crmerp.testing import FakeClock, FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


def create(adapter: Adapter, entity: str, payload: dict, reference: str = "crmerp:g-1") -> str:
    (result,) = adapter.write(entity, [WriteOp(WriteKind.CREATE, reference, payload)])
    assert result.status is WriteStatus.DONE, result.reason
    assert result.native_id is not None
    return result.native_id


@pytest.mark.parametrize("adapter_class", [FakeCRMAdapter, FakeERPAdapter])
def test_both_fakes_map_all_six_entities_both_ways(adapter_class: type[Adapter]) -> None:
    adapter = adapter_class()
    caps = adapter.capabilities()
    assert set(adapter.mappings) == set(ENTITIES)
    assert caps.readable == caps.writable == frozenset(ENTITIES)
    assert caps.change_feed
    assert caps.upsert_by_reference


def test_only_the_crm_reports_deletes_unless_the_erp_is_told_to() -> None:
    assert FakeCRMAdapter().capabilities().reports_deletes
    assert not FakeERPAdapter().capabilities().reports_deletes
    assert FakeERPAdapter(reports_deletes=True).capabilities().reports_deletes
    assert FakeERPAdapter(FakeERP(reports_deletes=True)).capabilities().reports_deletes


def test_the_crm_holds_one_email_and_one_phone_the_erp_holds_all() -> None:
    customer = Customer(
        name="Acme",
        emails=["a@acme.example", "b@acme.example"],
        phones=["+49 30 1234567", "+49 30 7654321"],
    )
    crm, erp = FakeCRMAdapter(), FakeERPAdapter()
    crm_id = create(crm, "customer", crm.to_native("customer", customer))
    erp_id = create(erp, "customer", erp.to_native("customer", customer))
    from_crm = crm.to_canonical("customer", crm.fetch("customer", [crm_id])[0])
    from_erp = erp.to_canonical("customer", erp.fetch("customer", [erp_id])[0])
    assert from_crm.emails == ["a@acme.example"]
    assert [p.number for p in from_crm.phones] == ["+49301234567"]
    assert from_erp.emails == customer.emails
    assert from_erp.phones == customer.phones


def test_what_each_fake_does_not_hold_is_declared_in_omits() -> None:
    crm = FakeCRMAdapter()
    assert "gtin" in crm.mapping("product").omits
    assert {"payment_terms", "issued_on"} <= crm.mapping("quote").omits
    assert {"subtotal", "tax_total", "total"} <= crm.mapping("order").omits
    assert crm.mapping("customer").omits == frozenset()
    assert all(not FakeERPAdapter().mapping(e).omits for e in ENTITIES)


def test_references_in_canonical_records_are_the_systems_native_ids() -> None:
    erp = FakeERPAdapter()
    party = erp.erp.create("party.party", name="Acme")
    product = erp.erp.create("product.product", code="P-1", name="Widget")
    sale = erp.erp.create(
        "sale.sale",
        party=party,
        currency="EUR",
        state="confirmed",
        lines=[{"product": product, "quantity": 2, "unit_price": "5.00"}],
    )
    order = erp.to_canonical("order", erp.fetch("order", [str(sale)])[0])
    assert isinstance(order, Order)
    assert order.customer_id == "1"
    assert order.lines[0].product_id == "1"
    assert order.total == Money("10.00", "EUR")
    native = erp.to_native("order", order)
    assert native["party"] == 1
    assert native["lines"][0]["product"] == 1
    with pytest.raises(MappingError) as caught:
        erp.to_native("order", order.model_copy(update={"customer_id": "acme"}))
    assert caught.value.field == "customer_id"


def test_a_crm_order_points_at_its_account_and_opportunity_by_crm_id() -> None:
    crm = FakeCRMAdapter()
    account = crm.crm.create("Account", Name="Acme")
    opportunity = crm.crm.create(
        "Opportunity", AccountId=account, StageName="Closed Won", CurrencyIsoCode="EUR"
    )
    order_id = crm.crm.create(
        "Order",
        AccountId=account,
        OpportunityId=opportunity,
        CurrencyIsoCode="EUR",
        Status="Activated",
    )
    order = crm.to_canonical("order", crm.fetch("order", [order_id])[0])
    assert (order.customer_id, order.quote_id, order.status) == (account, opportunity, "confirmed")


def test_a_create_with_a_known_reference_updates_that_record() -> None:
    crm = FakeCRMAdapter()
    first = create(crm, "customer", {"Name": "Acme"}, "crmerp:g-7")
    again = create(crm, "customer", {"Name": "Acme AG"}, "crmerp:g-7")
    assert again == first
    assert [a["Name"] for a in crm.crm.find("Account")] == ["Acme AG"]
    assert crm.find_by_reference("customer", ["crmerp:g-7"])["crmerp:g-7"].id == first


def test_every_record_read_carries_its_reference() -> None:
    erp = FakeERPAdapter()
    create(erp, "product", {"code": "P-1", "name": "Widget"}, "crmerp:p-1")
    erp.erp.create("product.product", code="P-2", name="Made by a user")
    page = erp.read_page("product", None, limit=10)
    assert [r.reference for r in page.records] == ["crmerp:p-1", None]


def test_an_update_stamps_the_reference_on_a_record_a_user_made() -> None:
    crm = FakeCRMAdapter()
    account = crm.crm.create("Account", Name="Acme")
    op = WriteOp(WriteKind.UPDATE, reference_for("g-9"), {"Phone": "+49 30 1"}, account)
    assert crm.write("customer", [op])[0].status is WriteStatus.DONE
    assert crm.fetch("customer", [account])[0].reference == "crmerp:g-9"


def test_bad_writes_fail_per_record_with_a_reason() -> None:
    erp = FakeERPAdapter()
    ops = [
        WriteOp(WriteKind.CREATE, "crmerp:a", {"name": "Acme", "bp_category": 7}),
        WriteOp(WriteKind.CREATE, "crmerp:b", {"name": "Beta"}),
        WriteOp(WriteKind.UPDATE, "crmerp:c", {"name": "Gamma"}, "99"),
        WriteOp(WriteKind.DELETE, "crmerp:d", None, "98"),
        WriteOp(WriteKind.CREATE, "crmerp:e", None),
        WriteOp(WriteKind.UPDATE, "crmerp:f", {"name": "Delta"}, "not-a-number"),
    ]
    results = erp.write("customer", ops)
    assert [r.status for r in results] == [
        WriteStatus.FAILED,
        WriteStatus.DONE,
        WriteStatus.FAILED,
        WriteStatus.FAILED,
        WriteStatus.FAILED,
        WriteStatus.FAILED,
    ]
    assert "bp_category 7 is not one of" in results[0].reason
    assert results[2].reason == "customer '99' not found"
    assert results[3].reason == "customer '98' not found"
    assert "needs a payload" in results[4].reason


def test_deleting_twice_is_done_both_times() -> None:
    for adapter in (FakeCRMAdapter(), FakeERPAdapter()):
        native_id = create(
            adapter, "customer", adapter.to_native("customer", Customer(name="Acme"))
        )
        op = WriteOp(WriteKind.DELETE, "crmerp:g-1", None, native_id)
        assert [r.status for r in adapter.write("customer", [op, op])] == [WriteStatus.DONE] * 2
        assert adapter.fetch("customer", [native_id]) == []


def test_an_erp_update_keeps_contact_mechanisms_no_canonical_field_holds() -> None:
    erp = FakeERPAdapter()
    party = erp.erp.create(
        "party.party",
        name="Acme",
        contact_mechanisms=[
            {"type": "website", "value": "https://acme.example"},
            {"type": "email", "value": "old@acme.example"},
        ],
    )
    customer = Customer(name="Acme", emails=["new@acme.example"])
    op = WriteOp(WriteKind.UPDATE, "crmerp:g-1", erp.to_native("customer", customer), str(party))
    erp.write("customer", [op])
    mechanisms = erp.erp.read("party.party", party)["contact_mechanisms"]
    assert {"type": "website", "value": "https://acme.example"} in mechanisms
    assert {"type": "email", "value": "new@acme.example"} in mechanisms
    assert {"type": "email", "value": "old@acme.example"} not in mechanisms


def test_stamps_are_aware_utc_from_the_systems_clock() -> None:
    clock = FakeClock(datetime(2030, 5, 1, 8, tzinfo=UTC), tick=timedelta(0))
    for adapter in (FakeCRMAdapter(FakeCRM(clock=clock)), FakeERPAdapter(FakeERP(clock=clock))):
        create(adapter, "product", adapter.to_native("product", Product(sku="P-1", name="Widget")))
        (record,) = adapter.read_page("product", None, limit=5).records
        assert record.stamp == datetime(2030, 5, 1, 8, tzinfo=UTC)


def test_pages_follow_the_change_sequence_and_say_whether_more_exist() -> None:
    crm = FakeCRMAdapter()
    ids = [crm.crm.create("Account", Name=f"A{i}") for i in range(5)]
    first = crm.read_page("customer", None, limit=2)
    assert [r.id for r in first.records] == ids[:2]
    assert first.more
    crm.crm.edit("Account", ids[0], Name="A0 renamed")
    rest = crm.read_page("customer", first.cursor, limit=10)
    assert [r.id for r in rest.records] == [*ids[2:], ids[0]]
    assert not rest.more
    assert crm.read_page("customer", rest.cursor, limit=10).records == []


def test_a_clock_stepping_back_does_not_hide_changes_from_the_feed() -> None:
    clock = FakeClock(tick=timedelta(minutes=1))
    erp = FakeERPAdapter(FakeERP(clock=clock))
    erp.erp.create("party.party", name="Early")
    cursor = erp.read_page("customer", None, limit=10).cursor
    clock.step_back(timedelta(hours=3))
    erp.erp.create("party.party", name="Late but stamped earlier")
    (record,) = erp.read_page("customer", cursor, limit=10).records
    assert record.payload["name"] == "Late but stamped earlier"
    assert record.stamp is not None
    assert record.stamp < datetime(2024, 1, 1, tzinfo=UTC)


def test_a_signpost_caps_what_a_read_returns() -> None:
    erp = FakeERPAdapter()
    erp.erp.create("product.product", code="P-1", name="Before")
    signpost = erp.signpost("product")
    erp.erp.create("product.product", code="P-2", name="After the signpost")
    page = erp.read_page("product", None, limit=10, signpost=signpost)
    assert [r.payload["name"] for r in page.records] == ["Before"]
    assert not page.more
    later = erp.read_page("product", page.cursor, limit=10)
    assert [r.payload["name"] for r in later.records] == ["After the signpost"]


def test_a_cursor_the_fake_did_not_make_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        FakeCRMAdapter().read_page("customer", "yesterday", limit=10)
    assert caught.value.code == "fake-cursor"


def test_money_stays_exact_through_the_crm() -> None:
    crm = FakeCRMAdapter()
    customer = Customer(name="Acme", credit_limit=Money("0.10", "KWD"), currency="KWD")
    native_id = create(crm, "customer", crm.to_native("customer", customer))
    assert crm.crm.read("Account", native_id)["Credit_Limit__c"] == "0.10"
    again = crm.to_canonical("customer", crm.fetch("customer", [native_id])[0])
    assert again.credit_limit == Money(Decimal("0.10"), "KWD")


def _update(adapter: Adapter, native_id: str, payload: dict, version: str | None) -> WriteStatus:
    op = WriteOp(WriteKind.UPDATE, "crmerp:g-1", payload, native_id, expected_version=version)
    (result,) = adapter.write_checked("customer", [op])
    return result.status


def test_the_fakes_report_a_version_that_changes_with_every_write() -> None:
    crm = FakeCRM()
    adapter = FakeCRMAdapter(crm)
    account = crm.create("Account", Name="Acme", Email__c="a@acme.example")
    (first,) = adapter.fetch("customer", [account])
    crm.edit("Account", account, Phone="+49 30 1")
    (second,) = adapter.fetch("customer", [account])
    (read,) = adapter.read_page("customer", None, limit=10).records
    assert first.version is not None
    assert second.version is not None
    assert first.version != second.version == read.version


@pytest.mark.parametrize("adapter_class", [FakeCRMAdapter, FakeERPAdapter])
def test_a_stale_update_is_refused_and_changes_nothing(adapter_class: type[Adapter]) -> None:
    adapter = adapter_class()
    assert adapter.capabilities().conditional_writes
    native_id = create(adapter, "customer", adapter.to_native("customer", _acme()))
    (before,) = adapter.fetch("customer", [native_id])
    renamed = adapter.to_native("customer", _acme(name="Acme GmbH"))
    assert _update(adapter, native_id, renamed, "0") is WriteStatus.STALE
    assert adapter.fetch("customer", [native_id])[0] == before
    assert _update(adapter, native_id, renamed, before.version) is WriteStatus.DONE
    assert adapter.fetch("customer", [native_id])[0].version != before.version
    assert _update(adapter, native_id, renamed, None) is WriteStatus.DONE


@pytest.mark.parametrize("adapter_class", [FakeCRMAdapter, FakeERPAdapter])
def test_a_stale_delete_is_refused_and_the_record_stays(adapter_class: type[Adapter]) -> None:
    adapter = adapter_class()
    native_id = create(adapter, "customer", adapter.to_native("customer", _acme()))
    op = WriteOp(WriteKind.DELETE, "crmerp:g-1", native_id=native_id, expected_version="0")
    (result,) = adapter.write_checked("customer", [op])
    assert result.status is WriteStatus.STALE
    assert [r.id for r in adapter.fetch("customer", [native_id])] == [native_id]


def test_without_conditional_writes_a_fake_writes_over_a_stale_version() -> None:
    adapter = FakeERPAdapter(conditional=False)
    assert not adapter.capabilities().conditional_writes
    native_id = create(adapter, "customer", adapter.to_native("customer", _acme()))
    renamed = adapter.to_native("customer", _acme(name="Acme GmbH"))
    assert _update(adapter, native_id, renamed, "0") is WriteStatus.DONE
    assert adapter.fetch("customer", [native_id])[0].payload["name"] == "Acme GmbH"


def _acme(name: str = "Acme") -> Customer:
    return Customer(id="g-1", kind="company", name=name, emails=["a@acme.example"])
