"""Acting as a user of the fake CRM and ERP: native shapes, ids, server checks, stamps."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crmerp import UsageError
from crmerp.testing import FakeClock, FakeCRM, FakeERP, WriteRefused


def test_each_fake_has_its_own_store() -> None:
    first, second = FakeCRM(), FakeCRM()
    first.create("Account", Name="Acme")
    assert second.find("Account") == []
    assert FakeERP().find("party.party") == []


def test_crm_ids_look_like_salesforce_ids_with_a_prefix_per_object() -> None:
    crm = FakeCRM()
    account = crm.create("Account", Name="Acme")
    product = crm.create("Product2", ProductCode="P-1", Name="Widget")
    assert len(account) == 18
    assert account.startswith("001")
    assert product.startswith("01t")
    assert crm.create("Account", Name="Beta") != account


def test_erp_ids_are_numbers_counted_per_table() -> None:
    erp = FakeERP()
    assert erp.create("party.party", name="Acme") == 1
    assert erp.create("party.party", name="Beta") == 2
    assert erp.create("product.product", code="P-1", name="Widget") == 1
    assert erp.read("party.party", 2)["id"] == 2


def test_a_user_creates_edits_reads_and_deletes() -> None:
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC), tick=timedelta(0))
    crm = FakeCRM(clock=clock)
    account = crm.create("Account", Name="Acme", Phone="+49 30 1234567")
    clock.advance(60)
    crm.edit("Account", account, Phone="+49 30 7654321")
    shown = crm.read("Account", account)
    assert shown is not None
    assert shown["Phone"] == "+49 30 7654321"
    assert shown["CreatedDate"] == "2030-01-01T00:00:00.000+0000"
    assert shown["LastModifiedDate"] == "2030-01-01T00:01:00.000+0000"
    assert shown["Active__c"] == "Yes"  # a server default
    assert crm.delete("Account", account) is True
    assert crm.read("Account", account) is None
    assert crm.delete("Account", account) is False


def test_find_filters_live_records_by_field() -> None:
    erp = FakeERP()
    erp.create("party.party", name="Acme", payment_term="net 30")
    erp.create("party.party", name="Beta", payment_term="net 60")
    assert [p["name"] for p in erp.find("party.party", payment_term="net 60")] == ["Beta"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "Name"),
        ({"Name": "Acme", "Active__c": "Maybe"}, "Active__c"),
        ({"Name": "Acme", "Credit_Limit__c": 1500.5}, "Credit_Limit__c"),
        ({"Name": "Acme", "Credit_Limit__c": "lots"}, "Credit_Limit__c"),
        ({"Name": 42}, "Name"),
        (
            {"Name": "Acme", "Contacts": {"records": [{"Email": "a@b.example"}]}},
            "Contacts.records.Name",
        ),
    ],
)
def test_the_crm_server_refuses_bad_records_naming_the_field(values: dict, field: str) -> None:
    with pytest.raises(WriteRefused) as caught:
        FakeCRM().create("Account", values)
    assert caught.value.field == field
    assert caught.value.table == "Account"
    assert caught.value.system == "fake-crm"


def test_a_reference_to_a_missing_parent_is_refused() -> None:
    crm = FakeCRM()
    with pytest.raises(WriteRefused, match="refers to a Account"):
        crm.create("Order", AccountId="001000000000000XYZ", CurrencyIsoCode="EUR")
    erp = FakeERP()
    with pytest.raises(WriteRefused) as caught:
        erp.create("sale.sale", party=7, currency="EUR")
    assert caught.value.field == "party"


def test_the_engine_reference_is_unique_among_live_records() -> None:
    crm = FakeCRM()
    crm.create("Account", Name="Acme", External_Id__c="crmerp:g-1")
    with pytest.raises(WriteRefused, match="duplicate value"):
        crm.create("Account", Name="Acme again", External_Id__c="crmerp:g-1")
    crm.store_raw("Account", {"Name": "Imported twin", "External_Id__c": "crmerp:g-1"})
    assert len(crm.find("Account", External_Id__c="crmerp:g-1")) == 2


def test_store_raw_skips_every_check() -> None:
    erp = FakeERP()
    party = erp.store_raw("party.party", {"bp_category": 9, "credit_limit_amount": 0.1})
    assert erp.read("party.party", party)["credit_limit_amount"] == 0.1
    assert erp.store_raw("party.party", {"name": "X"}, id=40) == 40
    assert erp.create("party.party", name="Y") == 41


def test_the_erp_states_document_totals_computed_from_the_lines() -> None:
    erp = FakeERP()
    party = erp.create("party.party", name="Acme")
    sale = erp.create(
        "sale.sale",
        party=party,
        currency="EUR",
        lines=[
            {"quantity": "3", "unit_price": "19.99", "discount": "5", "tax_rate": "19"},
            {"quantity": "1.5", "unit_price": "80.00", "tax_rate": "7"},
        ],
    )
    shown = erp.read("sale.sale", sale)
    assert shown["untaxed_amount"] == Decimal("176.97")
    assert shown["tax_amount"] == Decimal("19.22")
    assert shown["total_amount"] == Decimal("196.19")
    assert shown["lines"][0]["unit_price"] == Decimal("19.99")
    erp.edit("sale.sale", sale, lines=[{"quantity": "1", "unit_price": "10.00"}])
    assert erp.read("sale.sale", sale)["total_amount"] == Decimal("10.00")


def test_the_erp_keeps_quotations_and_orders_in_separate_tables() -> None:
    erp = FakeERP()
    party = erp.create("party.party", name="Acme")
    quotation = erp.create("sale.quotation", party=party, currency="EUR", status=20)
    sale = erp.create("sale.sale", party=party, currency="EUR", quotation=quotation)
    assert erp.read("sale.sale", sale)["quotation"] == quotation
    with pytest.raises(WriteRefused) as caught:
        erp.create("sale.quotation", party=party, currency="EUR", status=99)
    assert caught.value.field == "status"


def test_erp_deletes_vanish_unless_configured_to_keep_them() -> None:
    vanishing, keeping = FakeERP(), FakeERP(reports_deletes=True)
    for erp in (vanishing, keeping):
        party = erp.create("party.party", name="Acme")
        erp.delete("party.party", party)
        assert erp.read("party.party", party) is None
    assert vanishing.changes("party.party", after=0, limit=10)[0] == []
    (tombstone,), _ = keeping.changes("party.party", after=0, limit=10)
    assert tombstone.deleted


def test_unknown_tables_are_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        FakeCRM().create("Lead", Name="x")
    assert caught.value.code == "fake-table"
