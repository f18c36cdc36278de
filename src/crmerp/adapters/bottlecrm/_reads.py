"""Reading BottleCRM: full reads served in stable pages, fetches, and references.

BottleCRM has no change feed (accounts and deals carry no ``updated_at``, and no
list filters by modification time), so every read is a full read. The lists
page by offset over ids that are random UUIDs, so a record created or deleted
while paging shifts the rest: paging the API directly would skip or repeat
records, and a skipped record looks deleted to the engine. So the first page
of a read takes a *snapshot*: the whole list, read once, sorted by id. Later
pages are slices of it, and the cursor is ``<snapshot token>:<last id>``. A
cursor from an earlier process (after a crash) takes a fresh snapshot and goes
on after its last id, which is still correct because ids are sorted.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from crmerp.adapters import NativeRecord, global_id_of, parse_datetime
from crmerp.adapters.bottlecrm._client import BottleCRMClient
from crmerp.adapters.bottlecrm._errors import BottleCRMNotFound
from crmerp.adapters.bottlecrm._records import JSONObject

__all__ = [
    "REFERENCE_KEY",
    "SKU_INDEX",
    "ReferenceIndex",
    "Snapshot",
    "SnapshotReader",
    "product_reference_of",
    "reference_of",
]

REFERENCE_KEY = "crmerp_ref"
"""The custom field that holds the reference the engine stamps on records it creates."""

SKU_INDEX = "product-sku"
"""The index of products by SKU, used when a product carries no reference."""


def reference_of(row: Mapping[str, Any]) -> str | None:
    """The crmerp reference stored in a record's custom fields, if any."""
    fields = row.get("custom_fields")
    value = fields.get(REFERENCE_KEY) if isinstance(fields, Mapping) else None
    return str(value) if value else None


def product_reference_of(row: Mapping[str, Any]) -> str | None:
    """The crmerp reference of a product: products have no custom fields, so the
    adapter keeps it in ``category``, which crmerp does not sync."""
    category = row.get("category")
    return str(category) if isinstance(category, str) and global_id_of(category) else None


@attrs.define
class Snapshot:
    """One full read of an entity, sorted by id, served page by page."""

    token: str
    ids: list[str]
    records: dict[str, NativeRecord]

    def page(self, after: str | None, limit: int) -> tuple[list[NativeRecord], bool]:
        """Up to ``limit`` records with ids after ``after``, and whether more follow."""
        start = bisect.bisect_right(self.ids, after) if after is not None else 0
        chosen = self.ids[start : start + limit]
        return [self.records[i] for i in chosen], start + limit < len(self.ids)


class ReferenceIndex:
    """Which record carries which crmerp reference (or, for products, which SKU).

    Filled from full reads and from the adapter's own creates; built by a full
    list on first need. Used so that a create whose reference already exists
    updates that record instead of making a second one.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, dict[str, str]] = {}

    def known(self, entity: str) -> bool:
        """True when the index of ``entity`` has been filled."""
        return entity in self._by_key

    def replace(self, entity: str, pairs: Iterable[tuple[str | None, str]]) -> None:
        """Set the index of ``entity`` to ``(key, native id)`` pairs (``None`` keys skipped)."""
        self._by_key[entity] = {key: native for key, native in pairs if key}

    def note(self, entity: str, key: str | None, native_id: str) -> None:
        """Record that ``native_id`` carries ``key``."""
        if key and entity in self._by_key:
            self._by_key[entity][key] = native_id

    def forget(self, entity: str, native_id: str) -> None:
        """Drop every key that points at ``native_id`` (it was deleted)."""
        table = self._by_key.get(entity, {})
        for key in [k for k, v in table.items() if v == native_id]:
            del table[key]

    def get(self, entity: str, key: str) -> str | None:
        """The native id carrying ``key``, if known."""
        return self._by_key.get(entity, {}).get(key)


class SnapshotReader:
    """Builds the native records of each entity from BottleCRM's lists and details."""

    def __init__(
        self, client: BottleCRMClient, index: ReferenceIndex, default_currency: str | None
    ) -> None:
        self.client = client
        self.index = index
        self.default_currency = default_currency
        self._invoice_refs: dict[str, str | None] = {}

    # --- full reads ---------------------------------------------------------------

    def snapshot(self, entity: str) -> Snapshot:
        """Read every record of ``entity`` now."""
        records = {r.id: r for r in self._read_all(entity)}
        return Snapshot(uuid.uuid4().hex[:12], sorted(records), records)

    def _read_all(self, entity: str) -> list[NativeRecord]:
        readers: dict[str, Callable[[], list[NativeRecord]]] = {
            "customer": self._customers,
            "product": self._products,
            "quote": self._quotes,
            "invoice": self._invoices,
        }
        return readers[entity]()

    def _customers(self) -> list[NativeRecord]:
        persons: dict[str, list[JSONObject]] = {}
        for contact in self.client.iter_contacts():
            for account_id in _linked_accounts(contact):
                persons.setdefault(account_id, []).append(dict(contact))
        records = [
            self.customer(dict(row), persons.get(row["id"], []))
            for row in self.client.iter_accounts()
        ]
        self.index.replace("customer", ((r.reference, r.id) for r in records))
        return records

    def _products(self) -> list[NativeRecord]:
        records = [self.product(dict(row)) for row in self.client.iter_products()]
        self._index_products(r.payload for r in records)
        return records

    def _index_products(self, rows: Iterable[Mapping[str, Any]]) -> None:
        pairs = [(product_reference_of(r), r.get("sku"), str(r["id"])) for r in rows]
        self.index.replace("product", ((ref, i) for ref, _sku, i in pairs))
        self.index.replace(SKU_INDEX, ((sku, i) for _ref, sku, i in pairs))

    def _quotes(self) -> list[NativeRecord]:
        records = [self.quote(dict(row)) for row in self.client.iter_opportunities()]
        self.index.replace("quote", ((r.reference, r.id) for r in records))
        return records

    def _invoices(self) -> list[NativeRecord]:
        # List rows carry neither lines nor custom fields: each invoice is read in full.
        records = [
            r
            for r in (self._invoice_or_none(str(row["id"])) for row in self.client.iter_invoices())
            if r is not None
        ]
        self.index.replace("invoice", ((r.reference, r.id) for r in records))
        return records

    # --- one record ----------------------------------------------------------------

    def customer(self, account: JSONObject, contacts: Sequence[Mapping[str, Any]]) -> NativeRecord:
        """An account with its contact rows as one customer record."""
        ordered = sorted(contacts, key=lambda c: (str(c.get("created_at", "")), str(c["id"])))
        payload = {**account, "contacts": [dict(c) for c in ordered]}
        return NativeRecord(str(account["id"]), payload, reference=reference_of(account))

    def product(self, row: JSONObject) -> NativeRecord:
        """A product record."""
        return NativeRecord(
            str(row["id"]),
            row,
            stamp=parse_datetime(row.get("updated_at")),
            reference=product_reference_of(row),
        )

    def quote(self, row: JSONObject) -> NativeRecord:
        """A deal as a quote record; a deal without a currency gets the default one."""
        payload = dict(row)
        if not payload.get("currency") and self.default_currency:
            payload["currency"] = self.default_currency
        return NativeRecord(str(row["id"]), payload, reference=reference_of(row))

    def invoice(self, row: JSONObject) -> NativeRecord:
        """An invoice (as the detail read gives it) record."""
        self._invoice_refs[str(row["id"])] = reference_of(row)
        return NativeRecord(
            str(row["id"]),
            row,
            stamp=parse_datetime(row.get("updated_at")),
            reference=reference_of(row),
        )

    def _invoice_or_none(self, invoice_id: str) -> NativeRecord | None:
        try:
            return self.invoice(dict(self.client.get_invoice(invoice_id)))
        except BottleCRMNotFound:
            return None

    # --- fetch by id --------------------------------------------------------------------

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The records with these ids, each read in full; missing ones are left out."""
        found = []
        for native_id in dict.fromkeys(ids):
            try:
                found.append(self._one(entity, native_id))
            except BottleCRMNotFound:
                continue
        return found

    def _one(self, entity: str, native_id: str) -> NativeRecord:
        if entity == "customer":
            account = self.client.get_account(native_id)
            return self.customer(dict(account), account.get("contacts") or [])
        if entity == "product":
            return self.product(dict(self.client.get_product(native_id)))
        if entity == "quote":
            return self.quote(dict(self.client.get_opportunity(native_id)))
        return self.invoice(dict(self.client.get_invoice(native_id)))

    # --- references ------------------------------------------------------------------

    def refresh_index(self, entity: str) -> None:
        """Rebuild the reference index of ``entity`` from a fresh full list."""
        if entity == "customer":
            pairs: Iterator[tuple[str | None, str]] = (
                (reference_of(r), str(r["id"])) for r in self.client.iter_accounts()
            )
        elif entity == "quote":
            pairs = ((reference_of(r), str(r["id"])) for r in self.client.iter_opportunities())
        elif entity == "product":
            self._index_products(self.client.iter_products())
            return
        else:
            pairs = self._invoice_pairs()
        self.index.replace(entity, list(pairs))

    def _invoice_pairs(self) -> Iterator[tuple[str | None, str]]:
        # A reference never changes once stamped, so only new invoices are read in full.
        for row in self.client.iter_invoices():
            invoice_id = str(row["id"])
            if invoice_id not in self._invoice_refs:
                self._invoice_or_none(invoice_id)
            yield self._invoice_refs.get(invoice_id), invoice_id


def _linked_accounts(contact: Mapping[str, Any]) -> list[str]:
    return [str(a["id"]) for a in contact.get("linked_accounts") or () if a.get("id")]
