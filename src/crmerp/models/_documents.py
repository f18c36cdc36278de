"""Quotes, orders and invoices: lines with exact totals and lifecycle statuses."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crmerp._errors import CurrencyMismatch, DataError, TotalsMismatch
from crmerp.models._base import CanonicalModel, Reference
from crmerp.models._catalogue import Percent, Quantity
from crmerp.models._money import CurrencyCode, Money, quantum
from crmerp.models._status import InvoiceStatus, LifecycleStatus, OrderStatus, QuoteStatus

__all__ = ["Invoice", "LineItem", "Order", "Quote", "SalesDocument", "Totals"]

_HUNDRED = Decimal(100)


class LineItem(BaseModel):
    """One line of a quote, order or invoice.

    The net amount is quantity x unit price less the discount, rounded half-even to
    the currency's minor units; tax is computed on the rounded net, per line.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    product_id: str | None = None
    description: str = ""
    quantity: Quantity
    unit: str = "unit"
    unit_price: Money
    discount_percent: Percent = Decimal(0)
    tax_rate: Percent = Decimal(0)

    def net_amount(self) -> Decimal:
        """Quantity x unit price less discount, rounded to minor units."""
        gross = self.quantity * self.unit_price.amount
        net = gross * (_HUNDRED - self.discount_percent) / _HUNDRED
        return _round(net, self.unit_price.currency)

    def tax_amount(self) -> Decimal:
        """Tax on the rounded net amount, rounded to minor units."""
        return _round(self.net_amount() * self.tax_rate / _HUNDRED, self.unit_price.currency)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), ROUND_HALF_EVEN)


class Totals(BaseModel):
    """Header totals of a sales document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subtotal: Money
    tax: Money
    total: Money


class SalesDocument(CanonicalModel):
    """What quotes, orders and invoices share: a customer, a currency and lines.

    ``subtotal``, ``tax_total`` and ``total`` are derived from the lines. When they
    are given (from a system that states them) they are checked, and a mismatch
    raises :class:`~crmerp.TotalsMismatch` naming the difference.
    """

    status_type: ClassVar[type[LifecycleStatus]]
    derived_fields: ClassVar[frozenset[str]] = frozenset({"subtotal", "tax_total", "total"})
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(path=("customer_id",), entity="customer"),
        Reference(path=("lines", "product_id"), entity="product"),
    )

    number: str = ""
    customer_id: str
    currency: CurrencyCode
    payment_terms: str | None = None
    lines: list[LineItem] = Field(default_factory=list)
    subtotal: Money | None = None
    tax_total: Money | None = None
    total: Money | None = None

    @model_validator(mode="after")
    def _derive_totals(self) -> Self:
        computed = self.compute_totals()
        stated = (
            ("subtotal", self.subtotal, computed.subtotal),
            ("tax_total", self.tax_total, computed.tax),
            ("total", self.total, computed.total),
        )
        for field, given, derived in stated:
            if given is None:
                object.__setattr__(self, field, derived)
                continue
            self._check_total(field, given, derived)
        return self

    def _check_total(self, field: str, given: Money, derived: Money) -> None:
        if given.currency != derived.currency:
            raise CurrencyMismatch(
                f"{field} is in {given.currency}, document is in {derived.currency}",
                entity=self.entity,
                field=field,
                value=given.currency,
            )
        difference = given.amount - derived.amount
        if difference:
            raise TotalsMismatch(
                f"{field} {given} differs from the lines' {derived} by {difference:+}",
                difference=difference,
                entity=self.entity,
                field=field,
                value=given.amount,
            )

    def compute_totals(self) -> Totals:
        """Totals derived from the lines, exact to the currency's minor units."""
        net = tax = Decimal(0)
        currency = self.currency
        for index, line in enumerate(self.lines):
            if line.unit_price.currency != currency:
                raise CurrencyMismatch(
                    f"line {index} is in {line.unit_price.currency}, document in {self.currency}",
                    entity=self.entity,
                    field=f"lines.{index}.unit_price",
                    value=line.unit_price.currency,
                )
            try:
                line_net = line.net_amount()
                net += line_net
                tax += _round(line_net * line.tax_rate / _HUNDRED, currency)
            except ArithmeticError:  # finite, but too large to compute with
                raise DataError(
                    f"line {index}: quantity x unit price is too large to compute",
                    entity=self.entity,
                    field=f"lines.{index}",
                ) from None
        subtotal = Money._trusted(_round(net, currency), currency)
        tax_money = Money._trusted(_round(tax, currency), currency)
        return Totals.model_construct(subtotal=subtotal, tax=tax_money, total=subtotal + tax_money)

    def transition(self, status: Any) -> Self:
        """A copy in ``status``; raises :class:`~crmerp.IllegalTransition` if not allowed."""
        current = self.status_type(getattr(self, "status"))  # noqa: B009
        return self.model_copy(update={"status": current.check_transition(status)})


class Quote(SalesDocument):
    """An offer to a customer."""

    entity = "quote"
    status_type = QuoteStatus

    status: QuoteStatus = QuoteStatus.DRAFT
    issued_on: date | None = None
    valid_until: date | None = None


class Order(SalesDocument):
    """A confirmed sale; may stem from a quote."""

    entity = "order"
    status_type = OrderStatus
    references = (
        *SalesDocument.references,
        Reference(path=("quote_id",), entity="quote"),
    )

    status: OrderStatus = OrderStatus.DRAFT
    quote_id: str | None = None
    ordered_on: date | None = None


class Invoice(SalesDocument):
    """A bill to a customer; may stem from an order."""

    entity = "invoice"
    status_type = InvoiceStatus
    references = (
        *SalesDocument.references,
        Reference(path=("order_id",), entity="order"),
    )

    status: InvoiceStatus = InvoiceStatus.DRAFT
    order_id: str | None = None
    issued_on: date | None = None
    due_on: date | None = None
