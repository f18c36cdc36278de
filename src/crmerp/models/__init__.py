"""Canonical, typed domain models shared by every system crmerp connects.

Money is exact (``Decimal`` plus an ISO 4217 currency), datetimes are aware and in
UTC, statuses are enums with their allowed transitions, and references between
entities hold global ids.
"""

from crmerp.models._base import CanonicalModel, GlobalId, Reference, new_global_id, utc_now
from crmerp.models._catalogue import PriceList, PriceListItem, Product, ProductKind
from crmerp.models._documents import Invoice, LineItem, Order, Quote, SalesDocument, Totals
from crmerp.models._money import CurrencyCode, Money, currency_precision, to_decimal
from crmerp.models._party import (
    Address,
    AddressKind,
    ContactPerson,
    Customer,
    CustomerKind,
    Phone,
)
from crmerp.models._status import InvoiceStatus, LifecycleStatus, OrderStatus, QuoteStatus

ENTITY_MODELS: dict[str, type[CanonicalModel]] = {
    "customer": Customer,
    "product": Product,
    "price_list": PriceList,
    "quote": Quote,
    "order": Order,
    "invoice": Invoice,
}
"""Canonical model class of each entity name, in dependency order."""

__all__ = [
    "ENTITY_MODELS",
    "Address",
    "AddressKind",
    "CanonicalModel",
    "ContactPerson",
    "CurrencyCode",
    "Customer",
    "CustomerKind",
    "GlobalId",
    "Invoice",
    "InvoiceStatus",
    "LifecycleStatus",
    "LineItem",
    "Money",
    "Order",
    "OrderStatus",
    "Phone",
    "PriceList",
    "PriceListItem",
    "Product",
    "ProductKind",
    "Quote",
    "QuoteStatus",
    "Reference",
    "SalesDocument",
    "Totals",
    "currency_precision",
    "new_global_id",
    "to_decimal",
    "utc_now",
]
