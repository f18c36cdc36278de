from datetime import UTC, datetime, timedelta, timezone

import pytest

from crmerp import DataError
from crmerp.models import Customer, Product


def test_emails_are_normalised_and_bad_ones_refused() -> None:
    customer = Customer(name="Acme", emails=["Sales@ACME.De", "jörg@bücher.de"])
    assert customer.emails == ["Sales@acme.de", "jörg@bücher.de"]
    with pytest.raises(DataError) as info:
        Customer.parse({"name": "Acme", "emails": ["not-an-email"]})
    assert info.value.field == "emails"
    assert info.value.value == "not-an-email"


def test_phones_parse_to_e164_with_the_address_country() -> None:
    customer = Customer(
        name="Acme",
        addresses=[{"city": "Paris", "country": "FR"}],
        phones=["01 42 68 53 00", "call the front desk"],
    )
    assert [(p.number, p.is_e164) for p in customer.phones] == [
        ("+33142685300", True),
        ("call the front desk", False),
    ]


def test_tax_id_is_checked_where_the_format_is_known() -> None:
    assert Customer(name="A", tax_id="DE 136 695 976").tax_id == "DE136695976"
    with pytest.raises(DataError, match="invalid tax id"):
        Customer.parse({"name": "A", "tax_id": "DE136695977"})
    # No known format (no country, no prefix): kept, compacted.
    assert Customer(name="A", tax_id="12.345 678").tax_id == "12345678"


def test_country_names_and_codes_become_iso_codes() -> None:
    customer = Customer(name="A", addresses=[{"country": "germany"}, {"country": "fr"}])
    assert [a.country for a in customer.addresses] == ["DE", "FR"]
    with pytest.raises(DataError):
        Customer.parse({"name": "A", "addresses": [{"country": "Atlantis"}]})


def test_naive_datetimes_are_refused_and_aware_ones_become_utc() -> None:
    with pytest.raises(DataError, match="updated_at"):
        Customer.parse({"name": "A", "updated_at": datetime(2024, 1, 1, 12)})
    berlin = timezone(timedelta(hours=1))
    customer = Customer(name="A", updated_at=datetime(2024, 1, 1, 13, tzinfo=berlin))
    assert customer.updated_at == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert customer.updated_at.utcoffset() == timedelta(0)


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(DataError) as info:
        Customer.parse({"name": "A", "nmae": "typo"}, system="crm", native_id="001")
    assert (info.value.field, info.value.system, info.value.native_id) == ("nmae", "crm", "001")


def test_data_errors_say_entity_field_and_value() -> None:
    with pytest.raises(DataError) as info:
        Product.parse({"sku": "X-1", "name": "Bolt", "gtin": "4006381333932"})
    err = info.value
    assert (err.entity, err.field, err.value) == ("product", "gtin", "4006381333932")
    assert "invalid GTIN" in str(err)


def test_gtin_is_accepted_when_valid() -> None:
    assert Product(sku="X-1", name="Bolt", gtin="4006381333931").gtin == "4006381333931"
