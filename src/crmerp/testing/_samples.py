"""Canonical sample records the conformance suite writes through an adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from crmerp._errors import UsageError
from crmerp.models import (
    Address,
    CanonicalModel,
    ContactPerson,
    Customer,
    Invoice,
    LineItem,
    Money,
    Order,
    OrderStatus,
    Phone,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteStatus,
)

__all__ = ["PARENTS", "SampleFactory", "sample_record"]

PARENTS: Mapping[str, tuple[str, ...]] = {
    "customer": (),
    "product": (),
    "price_list": ("product",),
    "quote": ("customer", "product"),
    "order": ("customer", "product", "quote"),
    "invoice": ("customer", "product", "order"),
}
"""The entities whose native ids a sample of each entity refers to."""


class SampleFactory(Protocol):
    """Makes the ``n``-th sample of ``entity``; ``refs`` holds native ids of parents."""

    def __call__(
        self, entity: str, n: int, refs: Mapping[str, Sequence[str]]
    ) -> CanonicalModel: ...


def sample_record(entity: str, n: int, refs: Mapping[str, Sequence[str]]) -> CanonicalModel:
    """A valid canonical ``entity``, different for each ``n``.

    References hold the native ids in ``refs`` (entity -> ids written before), as
    the engine hands them to an adapter. Customers carry one email, one phone and
    one address of each kind, so a CRM that holds only that much keeps them whole.
    """
    makers = {
        "customer": _customer,
        "product": _product,
        "price_list": _price_list,
        "quote": _quote,
        "order": _order,
        "invoice": _invoice,
    }
    if entity not in makers:
        raise UsageError(f"no sample for entity {entity!r}", code="conformance-entity")
    return makers[entity](n, refs)


def _first(refs: Mapping[str, Sequence[str]], entity: str) -> str | None:
    ids = refs.get(entity) or ()
    return ids[0] if ids else None


def _customer(n: int, refs: Mapping[str, Sequence[str]]) -> Customer:
    return Customer(
        name=f"Conformance Customer {n}",
        addresses=[
            Address(
                kind="billing",
                street=f"Hauptstraße {n}",
                city="Berlin",
                postcode="10115",
                country="DE",
            ),
            Address(
                kind="shipping", street="Lagerweg 2", city="Hamburg", postcode="20095", country="DE"
            ),
        ],
        tax_id="DE136695976",
        emails=[f"buyer{n}@example.com"],
        phones=[Phone(number=f"+4930{1234000 + n}")],
        contacts=[
            ContactPerson(name=f"Contact {n}", role="buyer", email=f"contact{n}@example.com")
        ],
        credit_limit=Money(f"{1000 + n}.50", "EUR"),
        payment_terms="net 30",
        currency="EUR",
    )


def _product(n: int, refs: Mapping[str, Sequence[str]]) -> Product:
    return Product(
        sku=f"CONF-{n:04d}",
        name=f"Conformance Product {n}",
        description="A product the conformance suite wrote",
        unit="unit",
    )


def _price_list(n: int, refs: Mapping[str, Sequence[str]]) -> PriceList:
    items = [
        PriceListItem(product_id=product, unit_price=Money(f"{10 + n}.25", "EUR"))
        for product in refs.get("product") or ()
    ]
    return PriceList(
        name=f"Conformance Prices {n}",
        currency="EUR",
        items=items,
        valid_from=date(2024, 1, 1),
        valid_to=date(2024, 12, 31),
    )


def _lines(n: int, refs: Mapping[str, Sequence[str]]) -> list[LineItem]:
    return [
        LineItem(
            product_id=_first(refs, "product"),
            description=f"line {n}",
            quantity=Decimal(n + 1),
            unit_price=Money("19.99", "EUR"),
            discount_percent=Decimal("5"),
            tax_rate=Decimal("19"),
        ),
        LineItem(
            description="Setup",
            quantity=Decimal("1.5"),
            unit="h",
            unit_price=Money("80.00", "EUR"),
            tax_rate=Decimal("19"),
        ),
    ]


def _customer_id(refs: Mapping[str, Sequence[str]]) -> str:
    customer = _first(refs, "customer")
    if customer is None:
        raise UsageError(
            "a sample document needs a customer written first", code="conformance-parent"
        )
    return customer


def _quote(n: int, refs: Mapping[str, Sequence[str]]) -> Quote:
    return Quote(
        number=f"Q-{n:04d}",
        customer_id=_customer_id(refs),
        currency="EUR",
        payment_terms="net 30",
        lines=_lines(n, refs),
        status=QuoteStatus.SENT,
        issued_on=date(2024, 3, 1),
        valid_until=date(2024, 4, 1),
    )


def _order(n: int, refs: Mapping[str, Sequence[str]]) -> Order:
    return Order(
        number=f"SO-{n:04d}",
        customer_id=_customer_id(refs),
        currency="EUR",
        payment_terms="net 30",
        lines=_lines(n, refs),
        status=OrderStatus.CONFIRMED,
        quote_id=_first(refs, "quote"),
        ordered_on=date(2024, 3, 5),
    )


def _invoice(n: int, refs: Mapping[str, Sequence[str]]) -> Invoice:
    return Invoice(
        number=f"INV-{n:04d}",
        customer_id=_customer_id(refs),
        currency="EUR",
        payment_terms="net 30",
        lines=_lines(n, refs),
        status="posted",
        order_id=_first(refs, "order"),
        issued_on=date(2024, 3, 10),
        due_on=date(2024, 4, 9),
    )
