"""Hypothesis strategies that generate valid, varied canonical models.

>>> from hypothesis import given
>>> from crmerp.testing import strategies as st_crm
>>> @given(st_crm.customers())
... def test_round_trip(customer):
...     assert type(customer).model_validate_json(customer.model_dump_json()) == customer

Names use unicode letters, currencies include 0-, 2-, 3- and 4-decimal ones, and
sales documents may have long line lists.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from crmerp.models import (
    Address,
    AddressKind,
    ContactPerson,
    Customer,
    CustomerKind,
    Invoice,
    InvoiceStatus,
    LineItem,
    Money,
    Order,
    OrderStatus,
    Phone,
    PriceList,
    PriceListItem,
    Product,
    ProductKind,
    Quote,
    QuoteStatus,
    SalesDocument,
    currency_precision,
)

__all__ = [
    "CURRENCIES",
    "addresses",
    "amounts",
    "currencies",
    "customers",
    "global_ids",
    "invoices",
    "line_items",
    "money",
    "names",
    "orders",
    "price_lists",
    "products",
    "quotes",
    "utc_datetimes",
]

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "KRW", "KWD", "BHD", "TND", "CLF", "SEK", "INR")
"""Currencies drawn from: 0 (JPY, KRW), 2, 3 (KWD, BHD, TND) and 4 (CLF) decimals."""

_COUNTRIES = ("DE", "FR", "US", "GB", "JP", "KW", "CH", "ES", "IT", "BR", "IN", "CN")
_name_text = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Nd"), exclude_characters="\x00"),
    min_size=1,
    max_size=40,
)


def names() -> st.SearchStrategy[str]:
    """Unicode names: letters of any script, digits and inner spaces."""
    return st.lists(_name_text, min_size=1, max_size=4).map(" ".join)


def global_ids() -> st.SearchStrategy[str]:
    """Global ids as crmerp makes them (UUID strings)."""
    return st.uuids().map(str)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes with 0 to 4 minor-unit digits."""
    return st.sampled_from(CURRENCIES)


def amounts(currency: str, *, max_value: int = 10**9) -> st.SearchStrategy[Decimal]:
    """Non-negative amounts with exactly the currency's minor units."""
    places = currency_precision(currency)
    return st.integers(min_value=0, max_value=max_value * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


def money(currency: str | None = None) -> st.SearchStrategy[Money]:
    """Money in ``currency`` (or a drawn one), at its minor units."""
    chosen = st.just(currency) if currency else currencies()
    return chosen.flatmap(lambda c: amounts(c).map(lambda a: Money(a, c)))


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """Aware datetimes in UTC between 2000 and 2100."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )


def addresses() -> st.SearchStrategy[Address]:
    """Postal addresses with ISO 3166 countries."""
    return st.builds(
        Address,
        kind=st.sampled_from(AddressKind),
        street=names(),
        city=names(),
        postcode=st.from_regex(r"[0-9]{4,6}", fullmatch=True),
        country=st.sampled_from(_COUNTRIES),
    )


def _emails() -> st.SearchStrategy[str]:
    local = st.from_regex(r"[a-z][a-z0-9._-]{0,15}[a-z0-9]", fullmatch=True).filter(
        lambda s: ".." not in s
    )
    domain = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(com|de|fr|co\.uk|io)", fullmatch=True)
    return st.builds(lambda a, b: f"{a}@{b}", local, domain)


def _phones() -> st.SearchStrategy[Phone]:
    return st.integers(min_value=2_000_000, max_value=9_999_999).map(
        lambda n: Phone(number=f"+4930{n}", is_e164=True)
    )


def customers() -> st.SearchStrategy[Customer]:
    """Valid customers, companies and people, with optional credit limits."""
    return st.builds(
        Customer,
        id=global_ids(),
        updated_at=utc_datetimes(),
        kind=st.sampled_from(CustomerKind),
        name=names(),
        addresses=st.lists(addresses(), max_size=3),
        emails=st.lists(_emails(), max_size=3),
        phones=st.lists(_phones(), max_size=2),
        contacts=st.lists(
            st.builds(
                ContactPerson,
                name=names(),
                role=st.sampled_from(["", "buyer", "CFO"]),
                email=st.none() | _emails(),
            ),
            max_size=3,
        ),
        credit_limit=st.none() | money(),
        payment_terms=st.none() | st.sampled_from(["net 30", "net 60", "prepaid"]),
        currency=st.none() | currencies(),
        active=st.booleans(),
    )


def products() -> st.SearchStrategy[Product]:
    """Valid products with unique-looking SKUs."""
    return st.builds(
        Product,
        id=global_ids(),
        updated_at=utc_datetimes(),
        sku=st.from_regex(r"[A-Z]{2,4}-[0-9]{3,8}", fullmatch=True),
        name=names(),
        description=st.text(max_size=200),
        unit=st.sampled_from(["unit", "kg", "h", "m", "l"]),
        kind=st.sampled_from(ProductKind),
        gtin=st.none() | st.sampled_from(["4006381333931", "5901234123457", "96385074"]),
        active=st.booleans(),
    )


_percent = st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n).scaleb(-2))
_quantity = st.integers(min_value=1, max_value=10**6).map(lambda n: Decimal(n).scaleb(-2))


def line_items(currency: str) -> st.SearchStrategy[LineItem]:
    """Lines in ``currency`` with quantities, discounts and tax rates."""
    return st.builds(
        LineItem,
        product_id=st.none() | global_ids(),
        description=st.text(max_size=80),
        quantity=_quantity,
        unit=st.sampled_from(["unit", "kg", "h"]),
        unit_price=amounts(currency, max_value=10**6).map(lambda a: Money(a, currency)),
        discount_percent=_percent,
        tax_rate=st.sampled_from([Decimal(0), Decimal("7"), Decimal("19"), Decimal("20.5")]),
    )


def price_lists() -> st.SearchStrategy[PriceList]:
    """Price lists with quantity breaks and discounts in one currency."""

    def build(currency: str) -> st.SearchStrategy[PriceList]:
        item = st.builds(
            PriceListItem,
            product_id=global_ids(),
            unit_price=amounts(currency, max_value=10**5).map(lambda a: Money(a, currency)),
            min_quantity=st.integers(min_value=1, max_value=1000).map(Decimal),
            discount_percent=_percent,
        )
        start = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1))
        return st.builds(
            lambda gid, at, name, items, since, days: PriceList(
                id=gid,
                updated_at=at,
                name=name,
                currency=currency,
                items=items,
                valid_from=since,
                valid_to=since + timedelta(days=days),
            ),
            global_ids(),
            utc_datetimes(),
            names(),
            st.lists(item, max_size=20),
            start,
            st.integers(min_value=0, max_value=3650),
        )

    return currencies().flatmap(build)


def _documents(
    model: type[SalesDocument], statuses: type, **extra: st.SearchStrategy[object]
) -> st.SearchStrategy[Any]:
    def build(currency: str) -> st.SearchStrategy[Any]:
        return st.builds(
            model,
            id=global_ids(),
            updated_at=utc_datetimes(),
            number=st.from_regex(r"[A-Z]{1,3}[0-9]{1,8}", fullmatch=True),
            customer_id=global_ids(),
            currency=st.just(currency),
            status=st.sampled_from(statuses),
            payment_terms=st.none() | st.sampled_from(["net 30", "net 14"]),
            lines=st.lists(line_items(currency), max_size=60),
            **extra,
        )

    return currencies().flatmap(build)


def quotes() -> st.SearchStrategy[Quote]:
    """Quotes in any status with up to 60 lines."""
    return _documents(Quote, QuoteStatus)


def orders() -> st.SearchStrategy[Order]:
    """Orders in any status with up to 60 lines."""
    return _documents(Order, OrderStatus, quote_id=st.none() | global_ids())


def invoices() -> st.SearchStrategy[Invoice]:
    """Invoices in any status with up to 60 lines."""
    return _documents(Invoice, InvoiceStatus, order_id=st.none() | global_ids())
