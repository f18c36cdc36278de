"""Bad data in the fakes gives named data errors; reading it never crashes."""

from decimal import Decimal
from typing import Any

import pytest

from crmerp import DataError, InvalidRecord, MappingError, TotalsMismatch
from crmerp.adapters import Adapter
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter

ACCOUNT = "0015J0000000000001"
LINE = {"quantity": Decimal(1), "unit_price": Decimal("5.00")}

CASES: list[tuple[str, str, dict[str, Any], type[DataError], str]] = [
    # (system, entity, values, error, field)
    ("crm", "customer", {"CurrencyIsoCode": "EUR"}, InvalidRecord, "name"),
    ("crm", "customer", {"Name": ["Acme"]}, InvalidRecord, "name"),
    (
        "crm",
        "customer",
        {"Name": "A", "Credit_Limit__c": 1500.5, "CurrencyIsoCode": "EUR"},
        MappingError,
        "credit_limit",
    ),
    ("crm", "customer", {"Name": "A", "Active__c": "Maybe"}, MappingError, "active"),
    ("crm", "customer", {"Name": "A", "Active__c": ["Yes"]}, MappingError, "active"),
    ("crm", "customer", {"Name": "A", "BillingAddress": "Berlin"}, MappingError, "addresses"),
    (
        "crm",
        "customer",
        {"Name": "A", "Contacts": {"records": [{"Phone": "1"}]}},
        InvalidRecord,
        "contacts.0.name",
    ),
    (
        "crm",
        "order",
        {"AccountId": ACCOUNT, "Status": "Shipped", "CurrencyIsoCode": "EUR"},
        MappingError,
        "status",
    ),
    (
        "crm",
        "order",
        {
            "AccountId": ACCOUNT,
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
            "OrderItems": {
                "records": [{"Quantity": "1", "UnitPrice": 9.99, "CurrencyIsoCode": "EUR"}]
            },
        },
        MappingError,
        "lines.0.unit_price",
    ),
    (
        "crm",
        "order",
        {
            "AccountId": ACCOUNT,
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
            "OrderItems": {
                "records": [{"Quantity": [1], "UnitPrice": "9.99", "CurrencyIsoCode": "EUR"}]
            },
        },
        DataError,
        "lines.0.quantity",
    ),
    (
        "crm",
        "order",
        {"AccountId": ACCOUNT, "Status": "Draft", "CurrencyIsoCode": "EUR", "OrderItems": "lots"},
        MappingError,
        "lines",
    ),
    (
        "crm",
        "order",
        {
            "AccountId": ACCOUNT,
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
            "EffectiveDate": "soon-ish",
        },
        MappingError,
        "ordered_on",
    ),
    (
        "crm",
        "invoice",
        {"Status__c": "Paid", "CurrencyIsoCode": "EUR"},
        InvalidRecord,
        "customer_id",
    ),
    ("erp", "customer", {"name": "A", "bp_category": 3}, MappingError, "kind"),
    (
        "erp",
        "customer",
        {
            "name": "A",
            "bp_category": 2,
            "credit_limit_amount": 100.5,
            "credit_limit_currency": "EUR",
        },
        MappingError,
        "credit_limit",
    ),
    (
        "erp",
        "customer",
        {"name": "A", "bp_category": 2, "contact_mechanisms": "a@b.example"},
        MappingError,
        "emails",
    ),
    (
        "erp",
        "order",
        {
            "party": 1,
            "currency": "EUR",
            "state": "draft",
            "lines": [LINE],
            "untaxed_amount": Decimal("4.00"),
            "tax_amount": Decimal(0),
            "total_amount": Decimal("4.00"),
        },
        TotalsMismatch,
        "subtotal",
    ),
    (
        "erp",
        "order",
        {"party": [1], "currency": "EUR", "state": "draft"},
        MappingError,
        "customer_id",
    ),
    ("erp", "order", {"party": 1, "currency": "EUR", "state": "shipped"}, MappingError, "status"),
    (
        "erp",
        "order",
        {
            "party": 1,
            "currency": "EUR",
            "state": "draft",
            "lines": [{**LINE, "product": {"id": 3}}],
        },
        MappingError,
        "lines.0.product_id",
    ),
    ("erp", "quote", {"party": 1, "currency": "EUR", "status": "10"}, MappingError, "status"),
    (
        "erp",
        "quote",
        {"party": 1, "currency": "EUR", "status": 10, "quotation_date": 5},
        MappingError,
        "issued_on",
    ),
    (
        "erp",
        "price_list",
        {
            "name": "P",
            "currency": "EUR",
            "lines": [{"product": 1, "unit_price": "1.5", "discount": "150"}],
        },
        DataError,
        "items.0.discount_percent",
    ),
    ("erp", "price_list", {"name": "P", "currency": "EURO"}, DataError, "currency"),
    ("erp", "product", {"name": "Widget", "default_uom": "unit"}, InvalidRecord, "sku"),
]


def adapter_for(system: str) -> Adapter:
    if system == "crm":
        crm = FakeCRMAdapter()
        crm.crm.create("Account", Name="Acme")
        return crm
    erp = FakeERPAdapter()
    erp.erp.create("party.party", name="Acme")
    erp.erp.create("product.product", code="P-1", name="Widget")
    return erp


@pytest.mark.parametrize(("system", "entity", "values", "error", "field"), CASES)
def test_a_bad_native_record_gives_a_named_data_error(
    system: str, entity: str, values: dict[str, Any], error: type[DataError], field: str
) -> None:
    adapter = adapter_for(system)
    assert isinstance(adapter, FakeCRMAdapter | FakeERPAdapter)
    table = adapter.fake.TABLES[entity]
    native_id = str(adapter.fake.store_raw(table, values))
    (record,) = adapter.fetch(entity, [native_id])
    with pytest.raises(error) as caught:
        adapter.to_canonical(entity, record)
    problem = caught.value
    assert (problem.system, problem.entity, problem.native_id, problem.field) == (
        adapter.system,
        entity,
        native_id,
        field,
    )
    assert adapter.system in str(problem)
    assert native_id in str(problem)


@pytest.mark.parametrize("system", ["crm", "erp"])
def test_reading_a_page_full_of_bad_records_never_crashes(system: str) -> None:
    adapter = adapter_for(system)
    assert isinstance(adapter, FakeCRMAdapter | FakeERPAdapter)
    bad = [(e, v) for s, e, v, _, _ in CASES if s == system]
    for entity, values in bad:
        adapter.fake.store_raw(adapter.fake.TABLES[entity], values)
    entities = {entity for entity, _ in bad}
    failures = good = 0
    for entity in sorted(entities):
        for page in adapter.read_changes(entity, None):
            for record in page.records:
                try:
                    adapter.to_canonical(entity, record)
                    good += 1
                except DataError:
                    failures += 1
    assert failures == len(bad)
    assert good >= 1  # the valid records made by adapter_for still read fine
