"""Declarative mapping helpers, both directions, and the errors they give on bad data."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crmerp import DataError, InvalidRecord, MappingError, UsageError
from crmerp.adapters import (
    EntityMapping,
    RecordMapping,
    as_list,
    day,
    each,
    field,
    first_or_none,
    money,
    nested,
    parse_date,
    parse_datetime,
    timestamp,
    value_map,
)
from crmerp.models import Address, Customer, LineItem, Money, Product, Quote

NOT_HELD = {"kind", "addresses", "tax_id", "phones", "contacts", "credit_limit", "payment_terms"}


def customers(*fields: Any, **options: Any) -> EntityMapping:
    return EntityMapping(Customer, fields, omits=options.pop("omits", NOT_HELD), **options)


BASIC = customers(
    field("name", "Account.Name"),
    field("emails", "Email", to_canonical=as_list, to_native=first_or_none),
    field("currency", "Currency", default="EUR"),
    value_map(
        "active", "Status", {"A": True, "I": False, "X": False}, write_codes={True: "A", False: "I"}
    ),
    ignore={"Id", "Modified"},
)


def load(mapping: EntityMapping, payload: dict[str, Any]) -> Any:
    return mapping.to_canonical(payload, system="crm", native_id="n-1")


def test_fields_read_nested_paths_and_write_them_back() -> None:
    customer = load(BASIC, {"Account": {"Name": "Acme"}, "Email": "a@acme.example", "Status": "A"})
    assert customer.name == "Acme"
    assert customer.emails == ["a@acme.example"]
    assert BASIC.to_native(customer) == {
        "Account": {"Name": "Acme"},
        "Email": "a@acme.example",
        "Currency": "EUR",
        "Status": "A",
    }


def test_a_default_fills_a_missing_native_field() -> None:
    assert load(BASIC, {"Account": {"Name": "Acme"}, "Status": "A"}).currency == "EUR"


def test_a_one_value_field_keeps_only_the_first_of_a_list() -> None:
    customer = Customer(name="Acme", emails=["a@acme.example", "b@acme.example"])
    assert BASIC.to_native(customer)["Email"] == "a@acme.example"
    assert as_list(None) == []
    assert as_list("x") == ["x"]
    assert as_list(("x", "y")) == ["x", "y"]
    assert first_or_none([]) is None


def test_unknown_native_keys_are_reported_and_refused_when_strict() -> None:
    payload = {"Account": {"Name": "Acme"}, "Status": "A", "Id": "1", "Fax": "123"}
    assert BASIC.unknown_keys(payload) == {"Fax"}
    strict = customers(
        field("name", "Name"), field("currency"), field("emails"), field("active"), strict=True
    )
    with pytest.raises(MappingError) as caught:
        load(strict, {"Name": "Acme", "Fax": "123"})
    assert caught.value.field == "Fax"
    assert (caught.value.system, caught.value.native_id) == ("crm", "n-1")


def test_every_canonical_field_must_be_mapped_or_omitted() -> None:
    with pytest.raises(UsageError) as caught:
        EntityMapping(Customer, [field("name")], omits={"kind"})
    assert caught.value.code == "mapping-uncovered-field"
    assert "emails" in str(caught.value)
    with pytest.raises(UsageError) as unknown:
        EntityMapping(Product, [field("sku"), field("name")], omits={"colour"})
    assert unknown.value.code == "mapping-unknown-field"


def test_value_maps_translate_codes_both_ways() -> None:
    assert load(BASIC, {"Account": {"Name": "A"}, "Status": "X"}).active is False
    assert BASIC.to_native(Customer(name="A", active=False))["Status"] == "I"


@pytest.mark.parametrize("code", ["Z", ["A"], None, 1])
def test_an_unknown_code_is_a_mapping_error_naming_the_field(code: Any) -> None:
    with pytest.raises(MappingError) as caught:
        load(BASIC, {"Account": {"Name": "Acme"}, "Status": code})
    assert caught.value.field == "active"
    assert caught.value.entity == "customer"
    assert "unknown code" in str(caught.value)


def test_a_value_with_no_native_code_cannot_be_written() -> None:
    mapping = customers(
        field("name"),
        field("emails"),
        field("currency"),
        value_map("active", "Status", {"A": True}),
    )
    with pytest.raises(MappingError) as caught:
        mapping.to_native(Customer(name="A", active=False))
    assert caught.value.field == "active"


def credit(**options: Any) -> EntityMapping:
    return EntityMapping(
        Customer,
        [field("name"), money("credit_limit", **options)],
        omits=(NOT_HELD | {"emails", "currency", "active"}) - {"credit_limit"},
    )


def test_money_comes_from_an_amount_and_a_currency_field() -> None:
    mapping = credit(amount="Limit", currency="Cur")
    customer = load(mapping, {"name": "A", "Limit": "1500.50", "Cur": "eur"})
    assert customer.credit_limit == Money("1500.50", "EUR")
    assert mapping.to_native(customer) == {"name": "A", "Limit": "1500.50", "Cur": "EUR"}


def test_money_with_a_fixed_currency_and_exact_decimals() -> None:
    mapping = credit(amount="Limit", fixed_currency="JPY")
    customer = load(mapping, {"name": "A", "Limit": Decimal("1000")})
    assert customer.credit_limit == Money(1000, "JPY")
    assert load(mapping, {"name": "A", "Limit": None}).credit_limit is None


def test_float_money_is_refused_with_the_field_named() -> None:
    with pytest.raises(MappingError) as caught:
        load(credit(amount="Limit", currency="Cur"), {"name": "A", "Limit": 0.1, "Cur": "EUR"})
    assert caught.value.field == "credit_limit"
    assert "float" in str(caught.value)


def test_required_money_must_be_there() -> None:
    with pytest.raises(MappingError, match="Limit is missing"):
        load(credit(amount="Limit", currency="Cur", optional=False), {"name": "A", "Cur": "EUR"})


def test_money_needs_exactly_one_currency_source() -> None:
    with pytest.raises(UsageError):
        money("credit_limit", amount="A")
    with pytest.raises(UsageError):
        money("credit_limit", amount="A", currency="C", fixed_currency="EUR")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T10:00:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("2024-03-05 10:00:00.250000", datetime(2024, 3, 5, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-03-05T12:00:00+02:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("2024-03-05T10:00:00.000+0000", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("March 5, 2024 10:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        (datetime(2024, 3, 5, 10), datetime(2024, 3, 5, 10, tzinfo=UTC)),
    ],
)
def test_datetimes_parse_with_dateutil_and_naive_ones_are_utc(
    text: Any, expected: datetime
) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


def test_a_timestamp_field_converts_offsets_and_writes_iso() -> None:
    spec = timestamp("updated", "Modified")
    out: dict[str, Any] = {}
    spec.load({"Modified": "2024-03-05T11:00:00+01:00"}, out)
    assert out["updated"] == datetime(2024, 3, 5, 10, tzinfo=UTC)
    payload: dict[str, Any] = {}
    spec.dump({"updated": datetime(2024, 3, 5, 10, tzinfo=UTC)}, payload)
    assert payload == {"Modified": "2024-03-05T10:00:00+00:00"}


def test_dates_parse_from_dates_and_datetimes() -> None:
    assert parse_date("2024-03-05") == date(2024, 3, 5)
    assert parse_date("2024-03-05T23:00:00") == date(2024, 3, 5)
    assert parse_date("") is None
    spec = day("due", "Due")
    payload: dict[str, Any] = {}
    spec.dump({"due": date(2024, 3, 5)}, payload)
    assert payload == {"Due": "2024-03-05"}


@pytest.mark.parametrize("bad", ["not a date", 20240305, ["2024-03-05"]])
def test_a_bad_date_is_a_data_error(bad: Any) -> None:
    with pytest.raises(DataError):
        parse_datetime(bad)
    with pytest.raises(DataError):
        parse_date(bad)


ADDRESS = RecordMapping(
    Address,
    [
        field("street", "line1"),
        field("city"),
        field("postcode", "zip"),
        field("region"),
        field("country"),
        value_map("kind", "type", {"B": "billing", "S": "shipping"}),
    ],
)
LINE = RecordMapping(
    LineItem,
    [
        field("product_id", "sku"),
        field("description"),
        field("quantity", "qty"),
        field("unit"),
        money("unit_price", amount="price", currency="cur", optional=False),
        field("discount_percent", "discount", default="0"),
        field("tax_rate", default="0"),
    ],
)


def test_nested_and_each_map_sub_objects_both_ways() -> None:
    mapping = EntityMapping(
        Customer,
        [field("name"), each("addresses", "addrs", ADDRESS)],
        omits=NOT_HELD - {"addresses"} | {"emails", "currency", "active"},
    )
    payload = {
        "name": "A",
        "addrs": [
            {
                "line1": "Main St 1",
                "city": "Berlin",
                "zip": "10115",
                "region": "",
                "country": "Germany",
                "type": "S",
            }
        ],
    }
    customer = load(mapping, payload)
    assert customer.addresses[0].country == "DE"
    assert customer.addresses[0].kind == "shipping"
    assert mapping.to_native(customer)["addrs"][0]["country"] == "DE"
    single = nested("address", "addr", ADDRESS)
    out: dict[str, Any] = {}
    single.load({"addr": payload["addrs"][0]}, out)
    assert out["address"]["street"] == "Main St 1"


def test_errors_inside_a_list_name_the_item() -> None:
    quotes = EntityMapping(
        Quote,
        [field("customer_id", "account"), field("currency"), each("lines", "items", LINE)],
        omits={
            "number",
            "payment_terms",
            "subtotal",
            "tax_total",
            "total",
            "status",
            "issued_on",
            "valid_until",
        },
    )
    good = {"qty": "1", "price": "9.99", "cur": "EUR", "unit": "h", "description": ""}
    payload = {"account": "a-1", "currency": "EUR", "items": [good, {**good, "qty": 2.5}]}
    with pytest.raises(DataError) as caught:
        quotes.to_canonical(payload, system="crm", native_id="q-9")
    assert caught.value.field == "lines.1.quantity"
    assert (caught.value.entity, caught.value.native_id) == ("quote", "q-9")
    with pytest.raises(MappingError) as not_a_list:
        each("lines", "items", LINE).load({"items": "lots"}, {})
    assert not_a_list.value.field == "lines"


def test_a_scalar_where_an_object_belongs_is_an_error_not_silence() -> None:
    spec = each("lines", "Items.records", LINE)
    out: dict[str, Any] = {}
    spec.load({"Items": None}, out)
    assert out == {"lines": []}
    with pytest.raises(MappingError) as caught:
        spec.load({"Items": "lots"}, {})
    assert caught.value.field == "lines"
    assert "Items is not an object" in str(caught.value)


def test_a_payload_that_fails_validation_names_system_entity_id_and_field() -> None:
    with pytest.raises(InvalidRecord) as caught:
        load(BASIC, {"Status": "A"})
    error = caught.value
    assert (error.system, error.entity, error.native_id, error.field) == (
        "crm",
        "customer",
        "n-1",
        "name",
    )
    assert "system='crm'" in str(error)
    assert "native_id='n-1'" in str(error)
