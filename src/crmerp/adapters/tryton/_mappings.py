"""Declarative maps between the Tryton adapter's native payloads and the models.

A native payload is the adapter's flat view of one Tryton record and the rows
that belong to it, with codes and names in place of Tryton's ids for reference
tables (``"FR"``, ``"EUR"``, ``"Unit"``, ``"Immediate"``) and Tryton ids for the
records the engine links (``party``, ``product``). The readers in ``_read`` build
these payloads; the writers in ``_write`` turn them into Tryton calls.

Shapes (``id`` and stamps are in :class:`~crmerp.adapters.NativeRecord`)::

    customer    {name, active, tax_identifier, payment_term, currency,
                 emails: [str], phones: [str],
                 addresses: [{street, city, postal_code, subdivision, country,
                              invoice, delivery}]}
    product     {code, name, description, uom, type, gtin, active}
    price_list  {name, currency, active,
                 lines: [{product, quantity, formula, currency}]}
    order       {number, party, currency, payment_term, sale_date, state,
                 shipment_state, invoice_state, untaxed_amount, tax_amount,
                 total_amount, lines: [LINE]}
    invoice     {number, party, currency, payment_term, invoice_date, due_date,
                 state, sale, untaxed_amount, tax_amount, total_amount,
                 lines: [LINE]}
    LINE        {product, description, quantity, unit, unit_price, currency,
                 taxes: [{type, rate}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from crmerp._errors import DataError
from crmerp.adapters._mapping import (
    EntityMapping,
    FieldSpec,
    RecordMapping,
    day,
    each,
    field,
    money,
    value_map,
)
from crmerp.adapters.tryton._formula import compose_formula, parse_formula, plain_decimal
from crmerp.models import (
    Address,
    Customer,
    Invoice,
    LineItem,
    Money,
    Order,
    PriceList,
    PriceListItem,
    Product,
)

__all__ = [
    "CUSTOMER",
    "INVOICE",
    "INVOICE_STATES",
    "MAPPINGS",
    "ORDER",
    "PRICE_DIGITS",
    "PRICE_LIST",
    "PRODUCT",
    "order_status",
]

PRICE_DIGITS: Final = 4
"""Decimal places of unit prices in Tryton (``[product] price_decimal``, default 4)."""

_HUNDRED: Final = Decimal(100)


# --- small transforms ------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None or value is False else str(value)


def _none_if_empty(value: Any) -> Any:
    return value or None


def _flag(value: Any) -> bool:
    return bool(value)


def _text_id(value: Any) -> str | None:
    return None if value is None or value is False else str(value)


def _int_id(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{value!r} is not a Tryton id", value=value) from None


def quantity_in(value: Any) -> Decimal:
    """A Tryton float quantity as an exact, plain ``Decimal`` (``2.0`` -> ``2``)."""
    if isinstance(value, bool) or value is None:
        raise DataError(f"{value!r} is not a quantity", value=value)
    if isinstance(value, float):
        value = repr(value)
    try:
        return plain_decimal(Decimal(value))
    except ArithmeticError:
        raise DataError(f"{value!r} is not a quantity", value=value) from None


def _min_quantity_in(value: Any) -> Decimal:
    # A line without a quantity applies from any quantity on.
    return Decimal(0) if value is None else quantity_in(value)


def quantity_out(value: Any) -> float:
    """A canonical quantity as the float Tryton stores."""
    return float(Decimal(str(value)))


def _unit_in(value: Any) -> str:
    return "unit" if not value else str(value).casefold()


def _phone_numbers(phones: Any) -> list[str]:
    return [p["number"] if isinstance(p, Mapping) else str(p) for p in phones or ()]


def _tax_rate_in(taxes: Any) -> Decimal:
    rate = Decimal(0)
    for tax in taxes or ():
        if tax.get("type") != "percentage" or tax.get("rate") is None:
            raise DataError(
                f"tax {tax.get('name') or tax.get('type')!r} is not a percentage: "
                "crmerp lines carry one tax rate",
                value=tax,
            )
        rate += Decimal(str(tax["rate"])) * _HUNDRED
    return plain_decimal(rate)


def _tax_rate_out(rate: Any) -> list[dict[str, Any]]:
    percent = Decimal(str(rate or 0))
    if not percent:
        return []
    return [{"type": "percentage", "rate": str(plain_decimal(percent / _HUNDRED))}]


# --- specs that span several native keys --------------------------------------------------


@attrs.frozen
class _AddressKind:
    """``kind`` from Tryton's two flags: invoice -> billing, delivery -> shipping."""

    canonical: str = "kind"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"invoice", "delivery"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        if payload.get("invoice"):
            out["kind"] = "billing"
        elif payload.get("delivery"):
            out["kind"] = "shipping"
        else:
            out["kind"] = "other"

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if "kind" in record:
            kind = getattr(record["kind"], "value", record["kind"])
            payload["invoice"] = kind == "billing"
            payload["delivery"] = kind == "shipping"


@attrs.frozen
class _FormulaPrice:
    """A price-list line's ``unit_price`` (Money) from its fixed-price formula."""

    canonical: str = "unit_price"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"formula", "currency"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        price, _discount = parse_formula(str(payload.get("formula") or ""))
        out["unit_price"] = Money(price, payload.get("currency"))  # type: ignore[arg-type]

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        price = record.get("unit_price")
        if price is None:
            return
        amount, currency = _money_parts(price)
        discount = Decimal(str(record.get("discount_percent") or 0))
        payload["formula"] = compose_formula(amount, discount)
        payload["currency"] = currency


@attrs.frozen
class _FormulaDiscount:
    """A price-list line's ``discount_percent`` from its formula (written by the price)."""

    canonical: str = "discount_percent"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"formula"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        _price, discount = parse_formula(str(payload.get("formula") or ""))
        out["discount_percent"] = discount

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """Nothing: :class:`_FormulaPrice` writes the whole formula."""


@attrs.frozen
class _NetUnitPrice:
    """A sale line's ``unit_price``; a canonical discount is folded into it.

    Tryton sale lines have no discount (that is the ``sale_discount`` module), so
    10.00 less 5 % is written as a unit price of 9.50. A net price that needs more
    than Tryton's price digits cannot be written exactly and is refused.
    """

    canonical: str = "unit_price"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"unit_price", "currency"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        amount = payload.get("unit_price")
        if amount is None:
            raise DataError("unit_price is missing", field="unit_price")
        out["unit_price"] = Money(amount, payload.get("currency"))  # type: ignore[arg-type]

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        price = record.get("unit_price")
        if price is None:
            return
        amount, currency = _money_parts(price)
        discount = Decimal(str(record.get("discount_percent") or 0))
        if discount:
            net = amount * (_HUNDRED - discount) / _HUNDRED
            exact = net.quantize(Decimal(1).scaleb(-PRICE_DIGITS))
            if exact != net:
                raise DataError(
                    f"{amount} less {discount} % is {net}: Tryton sale lines hold no "
                    f"discount and a net price of at most {PRICE_DIGITS} decimals",
                    field="discount_percent",
                    value=discount,
                )
            amount = net
        payload["unit_price"] = str(amount)
        payload["currency"] = currency


def _money_parts(value: Any) -> tuple[Decimal, str]:
    if isinstance(value, Money):
        return value.amount, value.currency
    return Decimal(str(value["amount"])), str(value["currency"])


def order_status(state: Any, shipment_state: Any, invoice_state: Any) -> str:
    """The canonical order status of a sale's three states (see docs/systems/tryton.md)."""
    if state in ("draft", "quotation"):
        return "draft"
    if state == "confirmed":
        return "confirmed"
    if state == "cancelled":
        return "cancelled"
    if state == "done":
        return "invoiced"
    if state == "processing":
        shipped = shipment_state in ("sent", "none")
        billed = invoice_state in ("awaiting payment", "partially paid", "paid")
        if shipped and billed:
            return "invoiced"
        if shipment_state == "sent":
            return "fulfilled"
        return "confirmed"
    raise DataError(f"unknown sale state {state!r}", field="status", value=state)


_STATUS_STATES: Final[dict[str, tuple[str, str, str]]] = {
    "draft": ("draft", "none", "none"),
    "confirmed": ("confirmed", "none", "none"),
    "fulfilled": ("processing", "sent", "pending"),
    "invoiced": ("done", "sent", "paid"),
    "cancelled": ("cancelled", "none", "none"),
}


@attrs.frozen
class _OrderStatus:
    """``status`` from the sale's ``state``, ``shipment_state`` and ``invoice_state``."""

    canonical: str = "status"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"state", "shipment_state", "invoice_state"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        out["status"] = order_status(
            payload.get("state"), payload.get("shipment_state"), payload.get("invoice_state")
        )

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if "status" in record:
            status = str(getattr(record["status"], "value", record["status"]))
            state, shipment, invoice = _STATUS_STATES[status]
            payload.update(state=state, shipment_state=shipment, invoice_state=invoice)


@attrs.frozen
class _ReadOnly:
    """A field Tryton sets itself (a sale's number): read, never written."""

    inner: FieldSpec

    @property
    def canonical(self) -> str:
        return self.inner.canonical

    @property
    def sources(self) -> frozenset[str]:
        return self.inner.sources

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        self.inner.load(payload, out)

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """Nothing: the payload of a write never carries this field."""


@attrs.frozen
class _SortedLines:
    """Price-list lines, written with the highest minimum quantity first.

    Tryton applies the first line that matches; crmerp applies the item with
    the highest minimum quantity. Writing lines in that order makes both agree.
    """

    inner: FieldSpec
    canonical: str = "items"

    @property
    def sources(self) -> frozenset[str]:
        return self.inner.sources

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        self.inner.load(payload, out)

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        self.inner.dump(record, payload)
        if isinstance(payload.get("lines"), list):
            payload["lines"].sort(key=lambda line: -Decimal(str(line.get("quantity") or 0)))


# --- the maps -------------------------------------------------------------------------------

_ADDRESS = RecordMapping(
    Address,
    [
        _AddressKind(),
        field("street", to_canonical=_text),
        field("city", to_canonical=_text),
        field("postcode", "postal_code", to_canonical=_text),
        field("region", "subdivision", to_canonical=_text),
        field("country", to_canonical=_none_if_empty),
    ],
    ignore={"id", "sequence"},
)

CUSTOMER = EntityMapping(
    Customer,
    [
        field("name"),
        each("addresses", "addresses", _ADDRESS),
        field("tax_id", "tax_identifier", to_canonical=_none_if_empty),
        field("emails", default=[]),
        field("phones", default=[], to_native=_phone_numbers),
        field("payment_terms", "payment_term", to_canonical=_none_if_empty),
        field("currency", to_canonical=_none_if_empty),
        field("active", to_canonical=_flag, default=True),
    ],
    omits={"kind", "contacts", "credit_limit"},
)
"""party.party with its addresses, e-mail/phone contact mechanisms and tax identifier."""

PRODUCT = EntityMapping(
    Product,
    [
        field("sku", "code"),
        field("name"),
        field("description", to_canonical=_text),
        field("unit", "uom", to_canonical=_unit_in),
        value_map(
            "kind",
            "type",
            {"goods": "goods", "assets": "goods", "service": "service"},
            write_codes={"goods": "goods", "service": "service"},
        ),
        field("gtin", to_canonical=_none_if_empty),
        field("active", to_canonical=_flag, default=True),
    ],
)
"""product.product (a variant) with its template's name, type and unit."""

_PRICE_LINE = RecordMapping(
    PriceListItem,
    [
        field("product_id", "product", to_canonical=_text_id, to_native=_int_id),
        _FormulaPrice(),
        _FormulaDiscount(),
        field(
            "min_quantity",
            "quantity",
            to_canonical=_min_quantity_in,
            to_native=quantity_out,
            default=None,
        ),
    ],
    ignore={"id", "sequence"},
)

PRICE_LIST = EntityMapping(
    PriceList,
    [
        field("name"),
        field("currency"),
        _SortedLines(each("items", "lines", _PRICE_LINE)),
        field("active", to_canonical=_flag, default=True),
    ],
    omits={"valid_from", "valid_to"},
)
"""product.price_list with its product lines (fixed price, less a discount)."""

_LINE = RecordMapping(
    LineItem,
    [
        field("product_id", "product", to_canonical=_text_id, to_native=_int_id),
        field("description", to_canonical=_text),
        field("quantity", to_canonical=quantity_in, to_native=quantity_out),
        field("unit", to_canonical=_unit_in, default=None),
        _NetUnitPrice(),
        field("tax_rate", "taxes", to_canonical=_tax_rate_in, to_native=_tax_rate_out, default=[]),
    ],
    omits={"discount_percent"},
    ignore={"id", "sequence", "type"},
)


def _document_fields() -> list[FieldSpec]:
    return [
        _ReadOnly(field("number", to_canonical=_text)),
        field("customer_id", "party", to_canonical=_text_id, to_native=_int_id),
        field("currency"),
        field("payment_terms", "payment_term", to_canonical=_none_if_empty),
        each("lines", "lines", _LINE),
        money("subtotal", amount="untaxed_amount", currency="currency"),
        money("tax_total", amount="tax_amount", currency="currency"),
        money("total", amount="total_amount", currency="currency"),
    ]


ORDER = EntityMapping(
    Order,
    [*_document_fields(), _OrderStatus(), day("ordered_on", "sale_date")],
    omits={"quote_id"},
)
"""sale.sale with its lines; the status derives from its three states."""

INVOICE_STATES: Final[dict[str, str]] = {
    "draft": "draft",
    "validated": "draft",
    "posted": "posted",
    "paid": "paid",
    "cancelled": "cancelled",
}
"""Tryton invoice state -> canonical invoice status."""

INVOICE = EntityMapping(
    Invoice,
    [
        *_document_fields(),
        value_map(
            "status",
            "state",
            INVOICE_STATES,
            write_codes={v: v for v in set(INVOICE_STATES.values())},
        ),
        field("order_id", "sale", to_canonical=_text_id, to_native=_int_id),
        day("issued_on", "invoice_date"),
        day("due_on", "due_date"),
    ],
)
"""account.invoice (customer invoices and credit notes), read-only."""

MAPPINGS: Final[dict[str, EntityMapping]] = {
    "customer": CUSTOMER,
    "product": PRODUCT,
    "price_list": PRICE_LIST,
    "order": ORDER,
    "invoice": INVOICE,
}
"""Entity name -> mapping. Quotes are not mapped: see docs/systems/tryton.md."""
