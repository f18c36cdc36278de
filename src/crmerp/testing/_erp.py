"""FakeERP: a Tryton/SAP-like ERP held in memory.

Tables are named like Tryton models: ``party.party`` (contact mechanisms for
any number of emails and phones, addresses with a usage, contact persons),
``product.product``, ``product.price_list`` with lines, and SAP-like separate
documents ``sale.quotation``, ``sale.sale`` and ``account.invoice``. Ids are
integers per table, money and quantities are ``Decimal``, statuses are codes
(numeric on quotations), stamps are naive UTC ``write_date`` strings, and the
server computes the stated totals of every document from its lines. Deleted
rows simply vanish unless ``reports_deletes`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import ValidationError

from crmerp._errors import DataError
from crmerp.models import LineItem, Money, Quote
from crmerp.testing._clock import FakeClock
from crmerp.testing._schema import TableSchema, WriteRefused
from crmerp.testing._system import FakeSystem, _Row

__all__ = ["FakeERP"]

_DOCUMENTS = frozenset({"sale.quotation", "sale.sale", "account.invoice"})
QUOTATION_STATUS = {
    10: "draft",
    20: "sent",
    30: "accepted",
    40: "rejected",
    50: "expired",
    60: "converted",
}
SALE_STATES = frozenset({"draft", "quotation", "confirmed", "processing", "done", "cancelled"})
INVOICE_STATES = frozenset({"draft", "validated", "posted", "paid", "cancelled"})


def _document(
    status: str, codes: Iterable[Any], default: Any, links: dict[str, str]
) -> TableSchema:
    return TableSchema(
        required=("party", "currency", status, "lines.quantity", "lines.unit_price"),
        codes={status: frozenset(codes)},
        decimals=tuple(f"lines.{f}" for f in ("quantity", "unit_price", "discount", "tax_rate")),
        links={"party": "party.party", "lines.product": "product.product", **links},
        texts=("number", "currency", "payment_term"),
        lists=("lines",),
        defaults={status: default},
    )


class FakeERP(FakeSystem[int]):
    """A Tryton/SAP-like ERP, in memory or backed by a JSON file.

    >>> erp = FakeERP()
    >>> party = erp.create("party.party", name="Acme GmbH", contact_mechanisms=[
    ...     {"type": "email", "value": "sales@acme.example"}])
    >>> party, erp.read("party.party", party)["bp_category"]
    (1, 2)
    """

    name = "fake-erp"
    TABLES = {
        "customer": "party.party",
        "product": "product.product",
        "price_list": "product.price_list",
        "quote": "sale.quotation",
        "order": "sale.sale",
        "invoice": "account.invoice",
    }
    REFERENCE_FIELD = "crmerp_ref"
    STAMP_FIELD = "write_date"
    SYSTEM_FIELDS = frozenset({"id", "create_date", "write_date"})
    SCHEMAS: ClassVar[dict[str, TableSchema]] = {
        "party.party": TableSchema(
            required=(
                "name",
                "bp_category",
                "contact_mechanisms.type",
                "contact_mechanisms.value",
                "contacts.name",
            ),
            texts=(
                "name",
                "tax_identifier",
                "payment_term",
                "currency",
                "credit_limit_currency",
                "contact_mechanisms.value",
            ),
            codes={
                "bp_category": {1, 2},
                "active": {True, False},
                "contact_mechanisms.type": {"email", "phone", "mobile", "fax", "website"},
                "addresses.usage": {"invoice", "delivery", "other"},
            },
            decimals=("credit_limit_amount",),
            lists=("addresses", "contact_mechanisms", "contacts"),
            defaults={"bp_category": 2, "active": True},
        ),
        "product.product": TableSchema(
            required=("code", "name", "default_uom"),
            texts=("code", "name", "description", "default_uom", "ean"),
            codes={"type": {"goods", "service", "assets"}, "active": {True, False}},
            defaults={"type": "goods", "default_uom": "unit", "active": True},
        ),
        "product.price_list": TableSchema(
            required=("name", "currency", "lines.product", "lines.unit_price"),
            texts=("name", "currency"),
            codes={"active": {True, False}},
            decimals=("lines.unit_price", "lines.quantity", "lines.discount"),
            links={"lines.product": "product.product"},
            lists=("lines",),
            defaults={"active": True},
        ),
        "sale.quotation": _document("status", QUOTATION_STATUS, 10, {}),
        "sale.sale": _document("state", SALE_STATES, "draft", {"quotation": "sale.quotation"}),
        "account.invoice": _document("state", INVOICE_STATES, "draft", {"sale": "sale.sale"}),
    }

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: FakeClock | None = None,
        reports_deletes: bool = False,
        instance: str | None = None,
    ) -> None:
        super().__init__(path, clock=clock, instance=instance)
        self.keeps_tombstones = reports_deletes

    @property
    def reports_deletes(self) -> bool:
        """Whether deleted rows stay as tombstones in the change feed (``False``: they vanish)."""
        return self.keeps_tombstones

    def _native_id(self, key: str) -> int:
        return int(key)

    def _present(self, table: str, row: _Row) -> dict[str, Any]:
        return {
            "id": int(row.key),
            **row.values,  # a fresh copy each time
            "create_date": _stamp(row.created),
            "write_date": _stamp(row.stamp),
        }

    def _server_rules(self, table: str, values: dict[str, Any]) -> None:
        if table in _DOCUMENTS:
            values.update(stated_totals(table, values))


def stated_totals(table: str, values: dict[str, Any]) -> dict[str, Decimal]:
    """The ``untaxed_amount``, ``tax_amount`` and ``total_amount`` of a document.

    Computed line by line exactly as the canonical documents check them.
    """
    currency = values.get("currency")
    try:
        lines = [
            LineItem(
                quantity=line["quantity"],
                unit_price=Money(line["unit_price"], currency),  # type: ignore[arg-type]
                discount_percent=line.get("discount") or Decimal(0),
                tax_rate=line.get("tax_rate") or Decimal(0),
            )
            for line in values.get("lines") or ()
        ]
        document = Quote.model_construct(customer_id="", currency=str(currency), lines=lines)
        totals = document.compute_totals()
    except (ValidationError, DataError) as exc:
        raise WriteRefused(f"cannot compute totals: {exc}", table=table, field="lines") from None
    return {
        "untaxed_amount": totals.subtotal.amount,
        "tax_amount": totals.tax.amount,
        "total_amount": totals.total.amount,
    }


def _stamp(when: datetime) -> str:
    return when.isoformat(sep=" ", timespec="microseconds")[:26]  # strftime's cost
