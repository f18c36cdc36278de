"""How FakeERP's Tryton/SAP-like records map to the canonical models.

The ERP holds every canonical field: several emails and phones as contact
mechanisms, any number of addresses, stated totals on every document. Ids are
integers in the native payload and strings in canonical references.
"""

from __future__ import annotations

from typing import Any

from crmerp.adapters import (
    EntityMapping,
    FieldSpec,
    RecordMapping,
    day,
    each,
    field,
    money,
    value_map,
)
from crmerp.models import (
    Address,
    ContactPerson,
    Customer,
    Invoice,
    LineItem,
    Order,
    PriceList,
    PriceListItem,
    Product,
    Quote,
)
from crmerp.testing._erp import QUOTATION_STATUS
from crmerp.testing._specs import (
    ContactMechanisms,
    HeaderCurrencyLines,
    null_as,
    numeric_id,
    phone_number,
    text_id,
)

__all__ = ["ERP_MAPPINGS"]

_SYSTEM = frozenset({"id", "create_date", "write_date", "crmerp_ref"})


def _reference(canonical: str, native: str) -> FieldSpec:
    return field(canonical, native, to_canonical=text_id, to_native=numeric_id)


_ADDRESS = RecordMapping(
    Address,
    [
        value_map(
            "kind",
            "usage",
            {"invoice": "billing", "delivery": "shipping", "other": "other"},
            default="invoice",
        ),
        field("street", to_canonical=null_as("")),
        field("city", to_canonical=null_as("")),
        field("postcode", "postal_code", to_canonical=null_as("")),
        field("region", "subdivision", to_canonical=null_as("")),
        field("country"),
    ],
    ignore={"id"},
)

_CONTACT = RecordMapping(
    ContactPerson,
    [
        field("name"),
        field("role", "function", to_canonical=null_as("")),
        field("email"),
        field("phone", to_native=phone_number),
    ],
    ignore={"id"},
)

CUSTOMER = EntityMapping(
    Customer,
    [
        field("name"),
        value_map("kind", "bp_category", {1: "person", 2: "company"}),
        each("addresses", "addresses", _ADDRESS),
        field("tax_id", "tax_identifier"),
        ContactMechanisms("emails", "contact_mechanisms", frozenset({"email"}), "email"),
        ContactMechanisms(
            "phones", "contact_mechanisms", frozenset({"phone", "mobile"}), "phone", phone_number
        ),
        each("contacts", "contacts", _CONTACT),
        money("credit_limit", amount="credit_limit_amount", currency="credit_limit_currency"),
        field("payment_terms", "payment_term"),
        field("currency"),
        field("active", default=True),
    ],
    ignore=_SYSTEM,
    round_trips=True,
)

PRODUCT = EntityMapping(
    Product,
    [
        field("sku", "code"),
        field("name"),
        field("description", to_canonical=null_as("")),
        field("unit", "default_uom"),
        value_map(
            "kind",
            "type",
            {"goods": "goods", "assets": "goods", "service": "service"},
            default="goods",
            write_codes={"goods": "goods", "service": "service"},
        ),
        field("gtin", "ean", to_canonical=null_as(None)),
        field("active", default=True),
    ],
    ignore=_SYSTEM,
    round_trips=True,
)

_PRICE_LINE = RecordMapping(
    PriceListItem,
    [
        _reference("product_id", "product"),
        money("unit_price", amount="unit_price", currency="currency", optional=False),
        field("min_quantity", "quantity", to_canonical=null_as("1")),
        field("discount_percent", "discount", to_canonical=null_as("0")),
    ],
    ignore={"id"},
)

PRICE_LIST = EntityMapping(
    PriceList,
    [
        field("name"),
        field("currency"),
        day("valid_from", "start_date"),
        day("valid_to", "end_date"),
        HeaderCurrencyLines("items", "lines", _PRICE_LINE),
        field("active", default=True),
    ],
    ignore=_SYSTEM,
    round_trips=True,
)

_LINE = RecordMapping(
    LineItem,
    [
        _reference("product_id", "product"),
        field("description", to_canonical=null_as("")),
        field("quantity"),
        field("unit", to_canonical=null_as("unit")),
        money("unit_price", amount="unit_price", currency="currency", optional=False),
        field("discount_percent", "discount", to_canonical=null_as("0")),
        field("tax_rate", to_canonical=null_as("0")),
    ],
    ignore={"id"},
)


def _document(*specific: FieldSpec) -> list[FieldSpec]:
    return [
        field("number", to_canonical=null_as("")),
        _reference("customer_id", "party"),
        field("currency"),
        field("payment_terms", "payment_term"),
        HeaderCurrencyLines("lines", "lines", _LINE),
        money("subtotal", amount="untaxed_amount", currency="currency"),
        money("tax_total", amount="tax_amount", currency="currency"),
        money("total", amount="total_amount", currency="currency"),
        *specific,
    ]


SALE_STATES: dict[str, Any] = {
    "draft": "draft",
    "quotation": "draft",
    "confirmed": "confirmed",
    "processing": "fulfilled",
    "done": "invoiced",
    "cancelled": "cancelled",
}
INVOICE_STATES: dict[str, Any] = {
    "draft": "draft",
    "validated": "posted",
    "posted": "posted",
    "paid": "paid",
    "cancelled": "cancelled",
}

QUOTE = EntityMapping(
    Quote,
    _document(
        value_map("status", "status", QUOTATION_STATUS),
        day("issued_on", "quotation_date"),
        day("valid_until", "validity_date"),
    ),
    ignore=_SYSTEM,
    round_trips=True,
)

ORDER = EntityMapping(
    Order,
    _document(
        value_map(
            "status",
            "state",
            SALE_STATES,
            write_codes={v: k for k, v in SALE_STATES.items() if k != "quotation"},
        ),
        _reference("quote_id", "quotation"),
        day("ordered_on", "sale_date"),
    ),
    ignore=_SYSTEM,
    round_trips=True,
)

INVOICE = EntityMapping(
    Invoice,
    _document(
        value_map(
            "status",
            "state",
            INVOICE_STATES,
            write_codes={v: k for k, v in INVOICE_STATES.items() if k != "validated"},
        ),
        _reference("order_id", "sale"),
        day("issued_on", "invoice_date"),
        day("due_on", "due_date"),
    ),
    ignore=_SYSTEM,
    round_trips=True,
)

ERP_MAPPINGS: dict[str, EntityMapping] = {
    "customer": CUSTOMER,
    "product": PRODUCT,
    "price_list": PRICE_LIST,
    "quote": QUOTE,
    "order": ORDER,
    "invoice": INVOICE,
}
"""Entity name -> mapping of FakeERP's native records."""
