from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings

from crmerp import CurrencyMismatch, IllegalTransition, TotalsMismatch
from crmerp.models import (
    ENTITY_MODELS,
    Invoice,
    InvoiceStatus,
    Money,
    Order,
    OrderStatus,
    PriceList,
    Quote,
    QuoteStatus,
)
from crmerp.testing import strategies as cst

LINES = [
    # quantity, unit price, discount %, tax %
    ("3", "19.99", "10", "19"),
    ("1", "1234.56", "0", "19"),
    ("12.5", "3.333", "2.5", "7"),
    ("7", "0.99", "33.33", "0"),
    ("100", "0.015", "0", "19"),
    ("2", "499.00", "15", "7"),
]


def _hand_totals(lines: list[tuple[str, str, str, str]]) -> tuple[Decimal, Decimal]:
    cent = Decimal("0.01")
    net_total = tax_total = Decimal(0)
    for qty, price, disc, tax in lines:
        net = (Decimal(qty) * Decimal(price) * (1 - Decimal(disc) / 100)).quantize(
            cent, ROUND_HALF_EVEN
        )
        net_total += net
        tax_total += (net * Decimal(tax) / 100).quantize(cent, ROUND_HALF_EVEN)
    return net_total, tax_total


def _invoice(**extra: object) -> Invoice:
    lines = [
        {"quantity": q, "unit_price": Money(p, "EUR"), "discount_percent": d, "tax_rate": t}
        for q, p, d, t in LINES
    ]
    return Invoice.parse({"customer_id": "c-1", "currency": "EUR", "lines": lines, **extra})


def test_invoice_totals_equal_a_hand_computed_result() -> None:
    net, tax = _hand_totals(LINES)
    invoice = _invoice()
    assert invoice.subtotal == Money(net, "EUR")
    assert invoice.tax_total == Money(tax, "EUR")
    assert invoice.total == Money(net + tax, "EUR")
    # worked by hand: net 2183.57 + tax 307.32 (line 5 tax 0.285 rounds half-even to 0.28)
    assert str(invoice.total) == "2490.89 EUR"


def test_a_header_total_off_by_a_cent_is_refused_naming_the_difference() -> None:
    net, tax = _hand_totals(LINES)
    with pytest.raises(TotalsMismatch, match=r"differs .* by \+0\.01") as info:
        _invoice(total={"amount": str(net + tax + Decimal("0.01")), "currency": "EUR"})
    assert info.value.difference == Decimal("0.01")
    assert (info.value.entity, info.value.field) == ("invoice", "total")


def test_correct_stated_totals_are_accepted() -> None:
    net, tax = _hand_totals(LINES)
    invoice = _invoice(total={"amount": str(net + tax), "currency": "EUR"})
    assert invoice.total == Money(net + tax, "EUR")


def test_a_line_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch, match="line 0 is in USD") as info:
        Order.parse(
            {
                "customer_id": "c",
                "currency": "EUR",
                "lines": [{"quantity": 1, "unit_price": Money("1", "USD")}],
            }
        )
    assert info.value.field == "lines.0.unit_price"


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (Quote, ["draft", "sent", "accepted", "converted"]),
        (Order, ["draft", "confirmed", "fulfilled", "invoiced"]),
        (Invoice, ["draft", "posted", "paid"]),
    ],
)
def test_lifecycles_follow_their_allowed_paths(model: type[Quote], path: list[str]) -> None:
    doc = model(customer_id="c", currency="EUR")
    for status in path[1:]:
        doc = doc.transition(status)
    assert doc.status == path[-1]
    assert doc.status.is_final


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (QuoteStatus.DRAFT, "accepted"),
        (OrderStatus.INVOICED, "draft"),
        (InvoiceStatus.PAID, "cancelled"),
        (QuoteStatus.REJECTED, "converted"),
    ],
)
def test_illegal_transitions_raise(status: QuoteStatus, target: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        status.check_transition(target)
    assert (info.value.current, info.value.target) == (status.value, target)


def test_price_list_answers_price_at_quantity_and_date() -> None:
    prices = PriceList(
        name="EU 2025",
        currency="EUR",
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
        items=[
            {"product_id": "p1", "unit_price": Money("10.00", "EUR")},
            {
                "product_id": "p1",
                "unit_price": Money("10.00", "EUR"),
                "min_quantity": 10,
                "discount_percent": "5",
            },
            {
                "product_id": "p1",
                "unit_price": Money("9.00", "EUR"),
                "min_quantity": 100,
                "discount_percent": "10",
            },
        ],
    )
    assert prices.price_for("p1", 1, date(2025, 6, 1)) == Money("10", "EUR")
    assert prices.price_for("p1", 10, date(2025, 6, 1)) == Money("9.5", "EUR")
    assert prices.price_for("p1", 500, date(2025, 6, 1)) == Money("8.1", "EUR")
    assert prices.price_for("p1", 5, date(2026, 1, 1)) is None
    assert prices.price_for("p2", 5) is None


def test_every_entity_has_a_json_schema() -> None:
    for model in ENTITY_MODELS.values():
        schema = model.model_json_schema()
        assert "id" in schema["properties"]


def test_references_hold_global_ids() -> None:
    order = Order(
        customer_id="c-9",
        currency="EUR",
        quote_id="q-1",
        lines=[{"product_id": "p-1", "quantity": 1, "unit_price": Money("1", "EUR")}],
    )
    assert sorted(order.referenced_ids()) == [
        ("customer", "c-9"),
        ("product", "p-1"),
        ("quote", "q-1"),
    ]


@settings(max_examples=200)
@given(cst.invoices())
def test_totals_invariants(invoice: Invoice) -> None:
    assert invoice.subtotal is not None
    assert invoice.tax_total is not None
    assert invoice.total == invoice.subtotal + invoice.tax_total
    assert invoice.subtotal.amount == sum((ln.net_amount() for ln in invoice.lines), Decimal(0))
    assert invoice.subtotal.rounded() == invoice.subtotal
