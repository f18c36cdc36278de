"""Field maps between BottleCRM's JSON records and crmerp's canonical models.

The payloads these maps read are the API's records, with two additions made by
the adapter: an account carries its contact rows under ``contacts`` (from the
contact list, or the account's detail read), and a deal without a currency gets
the adapter's ``default_currency``. The payloads they write are what the
adapter's writers send, plus the keys those writers interpret themselves
(``contacts`` of an account, ``line_items`` of a deal, ``status`` of an invoice,
``prices`` of a price list).

BottleCRM stores quantities, prices, discounts and tax rates with two decimal
places. Values are written at two places when that is exact (``9.5000`` goes out
as ``9.50``), so that what the engine expects to read back is what the server
will answer; a value that needs more places is written unchanged and the
adapter refuses that write with a clear reason rather than let the server round.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import attrs

from crmerp._errors import DataError, MappingError
from crmerp.adapters import EntityMapping, as_list, day, field, first_or_none, value_map
from crmerp.models import Customer, Invoice, Money, PriceList, Product, Quote, to_decimal

__all__ = [
    "ACCEPTED_CURRENCIES",
    "CUSTOMER",
    "INVOICE",
    "MAPPINGS",
    "NO_NUMBER",
    "PLACEHOLDER_NAME",
    "PRICE_LIST",
    "PRODUCT",
    "QUOTE",
    "STAGE_FOR_STATUS",
    "deal_status",
    "join_name",
    "split_name",
    "two_places",
]

CENT = Decimal("0.01")

ACCEPTED_CURRENCIES: frozenset[str] = frozenset(
    {"USD", "EUR", "GBP", "INR", "CAD", "AUD", "JPY", "CNY", "CHF", "SGD", "AED", "BRL", "MXN"}
    | {"ZAR"}
)
"""The only currency codes BottleCRM accepts on any record (``CURRENCY_CODES``)."""

PLACEHOLDER_NAME = "-"
"""Stands in for the missing half of a one-word contact name (both halves are required)."""

NO_NUMBER = "(no number yet)"
"""Invoice title written for an invoice the ERP has not numbered yet (a title is required)."""


def two_places(value: Any) -> str:
    """``value`` as a decimal string with two places when that is exact, else unchanged."""
    number = to_decimal(value)
    try:
        rounded = number.quantize(CENT)
    except InvalidOperation:
        return str(number)
    return str(rounded) if rounded == number else str(number)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _none_to_blank(value: Any) -> Any:
    return "" if value is None else value


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value).strip()


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        inner = value.get("id")
        return str(inner) if inner else None
    return str(value) if value else None


def _amount(value: Any) -> Decimal:
    """A money amount from a python or JSON model dump (``Money`` or its dict)."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Mapping):
        return to_decimal(value["amount"])
    return to_decimal(value)


# --- customers ------------------------------------------------------------------------

_ADDRESS_KEYS = ("address_line", "city", "state", "postcode", "country")


@attrs.frozen
class _Address:
    """The account's one flat address <-> ``addresses`` (read as the billing address)."""

    canonical: str = "addresses"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(_ADDRESS_KEYS)

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        street, city, region, postcode, country = (_text(payload, k) for k in _ADDRESS_KEYS)
        if not any((street, city, region, postcode, country)):
            out[self.canonical] = []
            return
        out[self.canonical] = [
            {
                "kind": "billing",
                "street": street,
                "city": city,
                "postcode": postcode,
                "region": region,
                "country": country or None,
            }
        ]

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        addresses = [_plain(a) for a in record[self.canonical] or ()]
        billing = [a for a in addresses if str(a.get("kind", "billing")) == "billing"]
        chosen = (billing or addresses or [{}])[0]
        values = (
            chosen.get("street"),
            chosen.get("city"),
            chosen.get("region"),
            chosen.get("postcode"),
            chosen.get("country"),
        )
        for key, value in zip(_ADDRESS_KEYS, values, strict=True):
            payload[key] = value or None


def _plain(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump())
    return dict(value)


def _first_phone(phones: Any) -> str | None:
    first = first_or_none(list(phones or ()))
    if first is None:
        return None
    return str(_plain(first)["number"]) if not isinstance(first, str) else first


def split_name(name: str) -> tuple[str, str]:
    """First and last name for BottleCRM, which requires both: ``"Ada King Lovelace"`` ->
    ``("Ada King", "Lovelace")``; a one-word name gets :data:`PLACEHOLDER_NAME` as last name."""
    first, _, last = name.strip().rpartition(" ")
    if not first:
        return last, PLACEHOLDER_NAME
    return first.strip(), last


def join_name(first: str, last: str) -> str:
    """The inverse of :func:`split_name`."""
    parts = [p for p in (first.strip(), last.strip()) if p and p != PLACEHOLDER_NAME]
    return " ".join(parts)


@attrs.frozen
class _Contacts:
    """Contact rows linked to the account <-> ``contacts`` (contact persons).

    Sorted by name, email, role and phone, so the order never depends on which
    read (list or detail) produced the rows.
    """

    canonical: str = "contacts"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"contacts"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        persons = []
        for index, row in enumerate(payload.get("contacts") or ()):
            name = join_name(_text(row, "first_name"), _text(row, "last_name"))
            if not name:
                raise MappingError(
                    "contact has neither first nor last name",
                    field=f"contacts.{index}.name",
                    value=row.get("id"),
                )
            persons.append(
                {
                    "name": name,
                    "role": _text(row, "title"),
                    "email": _text(row, "email") or None,
                    "phone": _text(row, "phone") or None,
                }
            )
        out[self.canonical] = sorted(persons, key=_person_key)

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        rows = []
        for person in (_plain(p) for p in record[self.canonical] or ()):
            first, last = split_name(str(person["name"]))
            rows.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "title": person.get("role") or None,
                    "email": person.get("email") or None,
                    "phone": _first_phone([person["phone"]] if person.get("phone") else []),
                }
            )
        payload["contacts"] = rows


def _person_key(person: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(person["name"]).casefold(),
        (person["email"] or "").casefold(),
        person["role"],
        person["phone"] or "",
    )


CUSTOMER = EntityMapping(
    Customer,
    [
        field("name"),
        _Address(),
        field("emails", "email", to_canonical=as_list, to_native=first_or_none),
        field("phones", "phone", to_canonical=as_list, to_native=_first_phone),
        _Contacts(),
        field("currency", to_canonical=_blank_to_none, to_native=_blank_to_none),
        field("active", "is_active"),
    ],
    omits={"kind", "tax_id", "credit_limit", "payment_terms"},
    ignore={
        "id",
        "website",
        "industry",
        "number_of_employees",
        "annual_revenue",
        "country_display",
        "assigned_to",
        "teams",
        "tags",
        "description",
        "rollups",
        "created_by",
        "created_at",
        "org",
        "custom_fields",
        "cases",
        "tasks",
        "opportunities",
        "invoices",
        "comments",
        "attachments",
        "leads",
    },
)
"""Customer <-> account: one address, one email, one phone, contacts as contact persons."""


# --- products and price lists -----------------------------------------------------------

PRODUCT = EntityMapping(
    Product,
    [
        field("sku"),
        field("name"),
        field("description", to_canonical=_none_to_blank, to_native=_none_to_blank),
        field("active", "is_active"),
    ],
    omits={"unit", "kind", "gtin"},
    ignore={"id", "price", "currency", "category", "used_on", "created_at", "updated_at"},
)
"""Product <-> product. The price comes from the price list, see :data:`PRICE_LIST`."""


@attrs.frozen
class _Prices:
    """Price list items <-> one net price per product (``prices``).

    BottleCRM keeps one price per product and no quantity breaks: each product
    gets the list's price for a quantity of one, less its discount, rounded
    half-even to two places.
    """

    canonical: str = "items"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"prices"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        currency = str(payload.get("currency"))
        out[self.canonical] = [
            {
                "product_id": str(row["product"]),
                "unit_price": Money(to_decimal(row["price"]), currency),
            }
            for row in payload.get("prices") or ()
        ]

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        best: dict[str, dict[str, Any]] = {}
        for item in (_plain(i) for i in record[self.canonical] or ()):
            if to_decimal(item.get("min_quantity", 1)) > 1:
                continue
            current = best.get(str(item["product_id"]))
            if current is None or to_decimal(item.get("min_quantity", 1)) > to_decimal(
                current.get("min_quantity", 1)
            ):
                best[str(item["product_id"])] = item
        payload["prices"] = [
            {"product": product_id, "price": str(_net_price(item))}
            for product_id, item in sorted(best.items())
        ]


def _net_price(item: Mapping[str, Any]) -> Decimal:
    discount = to_decimal(item.get("discount_percent", 0))
    net = _amount(item["unit_price"]) * (Decimal(100) - discount) / Decimal(100)
    return net.quantize(CENT, ROUND_HALF_EVEN)


PRICE_LIST = EntityMapping(
    PriceList,
    [field("name"), field("currency"), _Prices()],
    omits={"valid_from", "valid_to", "active"},
)
"""Price list -> the products' ``price`` and ``currency`` (written, never read)."""


# --- documents: lines ------------------------------------------------------------------


@attrs.frozen
class _Lines:
    """Line items <-> ``lines``; the unit price takes the document's currency.

    ``product_key`` is how a write names the product (``product_id`` on deal
    lines, ``product`` on invoice lines); reads accept a nested product, a bare
    id or that key. ``with_tax``: the lines carry a tax rate (invoices only).
    """

    product_key: str
    with_tax: bool
    canonical: str = "lines"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"line_items"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        rows = payload.get("line_items") or ()
        currency = payload.get("currency")
        if rows and not currency:
            raise MappingError("the document has lines but no currency", field="currency")
        out[self.canonical] = [self._line(row, currency, i) for i, row in enumerate(rows)]

    def _line(self, row: Mapping[str, Any], currency: Any, index: int) -> dict[str, Any]:
        try:
            quantity = to_decimal(row.get("quantity", "1"), field="quantity")
            price = to_decimal(row.get("unit_price", "0"), field="unit_price")
            line = {
                "product_id": _id_of(row.get("product")) or _id_of(row.get(self.product_key)),
                "description": _text(row, "name"),
                "quantity": quantity,
                "unit_price": Money(price, currency),
                "discount_percent": _discount_percent(row, quantity, price),
            }
            if self.with_tax:
                line["tax_rate"] = to_decimal(row.get("tax_rate") or "0", field="tax_rate")
        except DataError as exc:
            raise MappingError(
                exc.reason, field=f"lines.{index}.{exc.field or ''}".rstrip("."), value=exc.value
            ) from None
        return line

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        rows = []
        for index, line in enumerate(_plain(li) for li in record[self.canonical] or ()):
            discount = to_decimal(line.get("discount_percent", 0))
            row: dict[str, Any] = {
                self.product_key: line.get("product_id"),
                "name": line.get("description") or "",
                "quantity": two_places(line["quantity"]),
                "unit_price": two_places(_amount(line["unit_price"])),
                "discount_type": "PERCENTAGE" if discount else "",
                "discount_value": two_places(discount),
                "order": index,
            }
            if self.with_tax:
                row["tax_rate"] = two_places(line.get("tax_rate", 0))
            rows.append(row)
        payload["line_items"] = rows


def _discount_percent(row: Mapping[str, Any], quantity: Decimal, price: Decimal) -> Decimal:
    """A line's discount as a percentage; a flat (``FIXED``) one is converted when a
    percentage with at most six places gives the same net amount to the cent."""
    value = to_decimal(row.get("discount_value") or "0", field="discount_value")
    if row.get("discount_type") == "PERCENTAGE" or not value:
        return value
    gross = quantity * price
    if not gross:
        raise DataError(
            "a flat discount on a line worth nothing", field="discount_value", value=value
        )
    target = (gross - value).quantize(CENT, ROUND_HALF_EVEN)
    exact = value * Decimal(100) / gross
    for places in range(7):
        percent = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
        net = (gross * (Decimal(100) - percent) / Decimal(100)).quantize(CENT, ROUND_HALF_EVEN)
        if net == target:
            return percent
    raise DataError(
        f"flat discount {value} has no percentage giving the same net amount",
        field="discount_value",
        value=value,
    )


@attrs.frozen
class _Ref:
    """A reference to another record: read nested (``{"id": ...}``) or bare, written bare."""

    canonical: str
    read_key: str
    write_key: str

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({self.read_key, self.write_key})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        found = _id_of(payload.get(self.read_key)) or _id_of(payload.get(self.write_key))
        if found is not None:
            out[self.canonical] = found

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical in record:
            payload[self.write_key] = record[self.canonical]


# --- quotes (deals) -------------------------------------------------------------------

STAGE_FOR_STATUS: Mapping[str, str] = {
    "draft": "PROSPECTING",
    "sent": "PROPOSAL",
    "accepted": "CLOSED_WON",
    "converted": "CLOSED_WON",
    "rejected": "CLOSED_LOST",
    "expired": "CLOSED_LOST",
}
"""The default pipeline's stage each quote status is written as."""

_SENT_STAGES = frozenset({"PROPOSAL", "NEGOTIATION"})


def deal_status(stage: str | None, kind: str | None = None) -> str:
    """The quote status of a deal stage: won -> accepted, lost -> rejected,
    proposal and negotiation -> sent, any other open stage -> draft."""
    if kind == "won" or (kind is None and stage == "CLOSED_WON"):
        return "accepted"
    if kind == "lost" or (kind is None and stage == "CLOSED_LOST"):
        return "rejected"
    return "sent" if stage in _SENT_STAGES else "draft"


@attrs.frozen
class _Stage:
    """``stage`` (and ``stage_kind`` where the API gives it) <-> quote ``status``."""

    canonical: str = "status"

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({"stage", "stage_kind"})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        out[self.canonical] = deal_status(payload.get("stage"), payload.get("stage_kind"))

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical in record:
            status = str(getattr(record[self.canonical], "value", record[self.canonical]))
            payload["stage"] = STAGE_FOR_STATUS[status]


QUOTE = EntityMapping(
    Quote,
    [
        field("number", "name"),
        _Ref("customer_id", "account", "account"),
        field("currency"),
        _Lines(product_key="product_id", with_tax=False),
        _Stage(),
        day("valid_until", "closed_on"),
    ],
    omits={"payment_terms", "subtotal", "tax_total", "total", "issued_on"},
    ignore={
        "id",
        "pipeline",
        "stage_label",
        "opportunity_type",
        "amount",
        "amount_source",
        "probability",
        "lead_source",
        "source_detail",
        "source_ref",
        "contacts",
        "line_items_total",
        "assigned_to",
        "teams",
        "closed_by",
        "tags",
        "description",
        "created_by",
        "created_at",
        "is_active",
        "org",
        "created_on_arrow",
        "stage_changed_at",
        "days_in_stage",
        "aging_status",
        "custom_fields",
        "next_activity",
        "invoices",
        "comments",
        "attachments",
        "tasks",
        "cases",
    },
)
"""Quote <-> opportunity (deal) with line items; the stage gives the status."""


# --- invoices --------------------------------------------------------------------------

_INVOICE_STATUS = {
    "Draft": "draft",
    "Sent": "posted",
    "Viewed": "posted",
    "Pending": "posted",
    "Overdue": "posted",
    "Partially_Paid": "posted",
    "Paid": "paid",
    "Cancelled": "cancelled",
}


def _title_to_number(value: Any) -> str:
    return "" if value in (None, NO_NUMBER) else str(value)


def _number_to_title(value: Any) -> str:
    return str(value) if value else NO_NUMBER


INVOICE = EntityMapping(
    Invoice,
    [
        field("number", "invoice_title", to_canonical=_title_to_number, to_native=_number_to_title),
        _Ref("customer_id", "account", "account_id"),
        field("currency"),
        _Lines(product_key="product", with_tax=True),
        value_map(
            "status",
            "status",
            _INVOICE_STATUS,
            write_codes={
                "draft": "Draft",
                "posted": "Sent",
                "paid": "Paid",
                "cancelled": "Cancelled",
            },
        ),
        day("issued_on", "issue_date"),
        day("due_on", "due_date"),
    ],
    omits={"payment_terms", "order_id", "subtotal", "tax_total", "total"},
    ignore={
        "id",
        "invoice_number",
        "contact",
        "opportunity",
        "project",
        "client_name",
        "client_email",
        "client_phone",
        "billing_address_line",
        "billing_city",
        "billing_state",
        "billing_postcode",
        "billing_country",
        "client_address_line",
        "client_city",
        "client_state",
        "client_postcode",
        "client_country",
        "subtotal",
        "discount_type",
        "discount_value",
        "discount_amount",
        "tax_rate",
        "tax_amount",
        "shipping_amount",
        "total_amount",
        "amount_paid",
        "amount_due",
        "payment_terms",
        "sent_at",
        "viewed_at",
        "paid_at",
        "reminder_enabled",
        "reminder_days_before",
        "reminder_days_after",
        "reminder_frequency",
        "public_token",
        "public_link_enabled",
        "public_url",
        "template",
        "notes",
        "terms",
        "details",
        "billing_period",
        "po_number",
        "custom_fields",
        "payments",
        "assigned_to",
        "teams",
        "is_overdue",
        "created_at",
        "updated_at",
        "created_by",
        "org",
        "account_name",
        "contact_name",
        "line_items_count",
        "cancelled_at",
        "estimate",
        "is_email_sent",
    },
)
"""Invoice <-> invoice: lines with their tax rate, status, dates; written, not read."""

MAPPINGS: Mapping[str, EntityMapping] = {
    "customer": CUSTOMER,
    "product": PRODUCT,
    "price_list": PRICE_LIST,
    "quote": QUOTE,
    "invoice": INVOICE,
}
"""Every entity the BottleCRM adapter maps; there is no ``order`` (BottleCRM has none)."""
