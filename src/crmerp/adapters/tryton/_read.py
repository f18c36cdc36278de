"""Read Tryton records with the rows that belong to them and build native payloads.

Every reader takes Tryton ids and answers ``{id: rows}`` for the ids that exist
(archived ones included); ``payload()`` on the rows gives the native payload
described in ``_mappings`` and ``stamp`` the newest modification among all the
rows, which is the record's position in the change feed (see ``_cursor``).
Archived child rows (an address, a contact mechanism) count for the stamp,
since archiving one is a change, but not for the payload.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from crmerp.adapters._records import NativeRecord, global_id_of
from crmerp.adapters.tryton._cursor import ChangeSource, Loaded
from crmerp.adapters.tryton._lookup import Lookups
from crmerp.adapters.tryton._rpc import TrytonRPC

__all__ = [
    "CustomerRows",
    "DocumentRows",
    "PriceListRows",
    "ProductRows",
    "Readers",
    "is_neutral_line",
    "marker_of",
    "split_marker",
]

_INACTIVE_TOO: Final = {"active_test": False}
_ROW_STAMP: Final = "last_modified_at"
Row = dict[str, Any]


def _dotted(row: Mapping[str, Any], name: str, attr: str) -> Any:
    nested = row.get(f"{name}.")
    return nested.get(attr) if isinstance(nested, Mapping) else None


def _sequence_key(row: Mapping[str, Any]) -> tuple[bool, int, int]:
    # Tryton orders sequence_ordered rows "sequence ASC NULLS FIRST, id".
    sequence = row.get("sequence")
    return (sequence is not None, int(sequence or 0), int(row["id"]))


def _newest(rows: Iterable[Mapping[str, Any]], path: str = _ROW_STAMP) -> dt.datetime | None:
    stamps: list[dt.datetime] = []
    for row in rows:
        value: Any = row
        head, _, rest = path.partition(".")
        while rest:
            value = value.get(f"{head}.") or {}
            head, _, rest = rest.partition(".")
        stamp = value.get(head)
        if isinstance(stamp, dt.datetime):
            stamps.append(stamp)
    return max(stamps) if stamps else None


def _stamp(*parts: dt.datetime | None) -> dt.datetime:
    found = [p for p in parts if p is not None]
    return max(found) if found else dt.datetime.min.replace(tzinfo=dt.UTC)


def _active(row: Mapping[str, Any]) -> bool:
    return bool(row.get("active", True))


def _reference(codes: Iterable[Any]) -> str | None:
    for code in codes:
        if isinstance(code, str) and global_id_of(code) is not None:
            return code
    return None


def marker_of(reference: str) -> str:
    """The suffix a price list's name carries until its reference note exists."""
    return f" [{reference}]"


def split_marker(name: str) -> tuple[str, str | None]:
    """A price-list name without its reference marker, and the reference if any."""
    if name.endswith("]") and " [" in name:
        head, _, tail = name.rpartition(" [")
        reference = tail[:-1]
        if global_id_of(reference) is not None:
            return head, reference
    return name, None


def is_neutral_line(row: Mapping[str, Any]) -> bool:
    """A catch-all line that keeps the price as it is (``unit_price``, no product)."""
    return (
        row.get("product") is None
        and row.get("category") is None
        and str(row.get("formula") or "").strip() == "unit_price"
    )


# --- rows of each entity ------------------------------------------------------------------


@attrs.define
class CustomerRows:
    """A party and its address, contact-mechanism and identifier rows."""

    party: Row
    addresses: list[Row]
    mechanisms: list[Row]
    identifiers: list[Row]
    tax_identifier: int | None

    @property
    def stamp(self) -> dt.datetime:
        """Newest modification of the party and its rows."""
        return _stamp(
            _newest([self.party]),
            _newest(self.addresses),
            _newest(self.mechanisms),
            _newest(self.identifiers),
        )

    @property
    def reference(self) -> str | None:
        """The crmerp reference stored as an identifier of the party."""
        return _reference(i.get("code") for i in self.identifiers)

    def active_addresses(self) -> list[Row]:
        """Addresses in use, in Tryton's order."""
        return [a for a in self.addresses if _active(a)]

    def active_mechanisms(self, *types: str) -> list[Row]:
        """Contact mechanisms in use of the given types, in Tryton's order."""
        return [m for m in self.mechanisms if _active(m) and m.get("type") in types]

    def tax_row(self) -> Row | None:
        """The identifier Tryton reports as the party's tax identifier."""
        for row in self.identifiers:
            if row["id"] == self.tax_identifier:
                return row
        return None

    def payload(self) -> dict[str, Any]:
        """The native customer payload."""
        tax = self.tax_row()
        return {
            "name": self.party.get("name"),
            "active": bool(self.party.get("active", True)),
            "tax_identifier": tax.get("code") if tax else None,
            "payment_term": _dotted(self.party, "customer_payment_term", "name"),
            "currency": _dotted(self.party, "customer_currency", "code"),
            "emails": [m["value"] for m in self.active_mechanisms("email")],
            "phones": [m["value"] for m in self.active_mechanisms("phone", "mobile")],
            "addresses": [address_payload(a) for a in self.active_addresses()],
        }


def address_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """The native payload of one ``party.address`` row."""
    country = _dotted(row, "country", "code")
    region = _dotted(row, "subdivision", "code") or ""
    if country and region.upper().startswith(f"{country.upper()}-"):
        region = region[len(country) + 1 :]
    return {
        "street": row.get("street") or "",
        "city": row.get("city") or "",
        "postal_code": row.get("postal_code") or "",
        "subdivision": region,
        "country": country,
        "invoice": bool(row.get("invoice")),
        "delivery": bool(row.get("delivery")),
    }


@attrs.define
class ProductRows:
    """A product variant (with its template's fields) and its identifier rows."""

    product: Row
    identifiers: list[Row]

    @property
    def stamp(self) -> dt.datetime:
        """Newest modification of the variant, its template and its identifiers."""
        return _stamp(
            _newest([self.product]),
            _newest([self.product], f"template.{_ROW_STAMP}"),
            _newest(self.identifiers),
        )

    @property
    def reference(self) -> str | None:
        """The crmerp reference stored as an identifier of the variant."""
        return _reference(i.get("code") for i in self.identifiers if not i.get("type"))

    @property
    def template(self) -> int:
        """The id of the variant's template."""
        return int(self.product["template"])

    def gtin_rows(self) -> list[Row]:
        """The variant's EAN/GTIN identifiers, in Tryton's order."""
        return [i for i in self.identifiers if i.get("type") == "ean"]

    def payload(self) -> dict[str, Any]:
        """The native product payload."""
        gtins = self.gtin_rows()
        template_active = _dotted(self.product, "template", "active")
        return {
            "code": self.product.get("code"),
            "name": self.product.get("name"),
            "description": self.product.get("description") or "",
            "uom": _dotted(self.product, "default_uom", "name"),
            "type": self.product.get("type"),
            "gtin": gtins[0]["code"] if gtins else None,
            "active": bool(self.product.get("active", True))
            and bool(True if template_active is None else template_active),
        }


@attrs.define
class PriceListRows:
    """A price list, its lines and the notes carrying its crmerp reference."""

    price_list: Row
    lines: list[Row]
    currency: str
    note_reference: str | None

    @property
    def stamp(self) -> dt.datetime:
        """Newest modification of the price list and its lines."""
        return _stamp(_newest([self.price_list]), _newest(self.lines))

    @property
    def reference(self) -> str | None:
        """The reference from the note, or from the name while it still has its marker."""
        return self.note_reference or split_marker(str(self.price_list.get("name") or ""))[1]

    def product_lines(self) -> list[Row]:
        """The lines crmerp maps: every line but neutral catch-alls."""
        return [line for line in self.lines if not is_neutral_line(line)]

    def payload(self) -> dict[str, Any]:
        """The native price-list payload."""
        return {
            "name": split_marker(str(self.price_list.get("name") or ""))[0],
            "currency": self.currency,
            "active": bool(self.price_list.get("active", True)),
            "lines": [
                {
                    "product": line.get("product"),
                    "quantity": line.get("quantity"),
                    "formula": line.get("formula"),
                    "currency": self.currency,
                }
                for line in self.product_lines()
            ],
        }


@attrs.define
class DocumentRows:
    """A sale or an invoice with its lines (``type == "line"`` rows only in the payload)."""

    header: Row
    lines: list[Row]
    taxes: dict[int, dict[str, Any]]
    extra: dict[str, Any] = attrs.Factory(dict)

    @property
    def stamp(self) -> dt.datetime:
        """Newest modification of the document and its lines."""
        return _stamp(_newest([self.header]), _newest(self.lines))

    @property
    def reference(self) -> str | None:
        """The crmerp reference in the document's ``reference`` field."""
        return _reference([self.header.get("reference")])

    def item_lines(self) -> list[Row]:
        """Lines that sell something (not titles, comments or subtotals)."""
        return [line for line in self.lines if line.get("type", "line") == "line"]

    def line_payload(self, row: Mapping[str, Any], currency: Any) -> dict[str, Any]:
        """The native payload of one line."""
        return {
            "product": row.get("product"),
            "description": row.get("description") or "",
            "quantity": row.get("quantity"),
            "unit": _dotted(row, "unit", "name"),
            "unit_price": row.get("unit_price"),
            "currency": currency,
            "taxes": [self.taxes[t] for t in row.get("taxes") or ()],
        }

    def common_payload(self) -> dict[str, Any]:
        """What sales and invoices share."""
        currency = _dotted(self.header, "currency", "code")
        return {
            "number": self.header.get("number") or "",
            "party": self.header.get("party"),
            "currency": currency,
            "payment_term": _dotted(self.header, "payment_term", "name"),
            "untaxed_amount": self.header.get("untaxed_amount"),
            "tax_amount": self.header.get("tax_amount"),
            "total_amount": self.header.get("total_amount"),
            "lines": [self.line_payload(line, currency) for line in self.item_lines()],
        }

    def order_payload(self) -> dict[str, Any]:
        """The native order payload of a sale."""
        return {
            **self.common_payload(),
            "sale_date": self.header.get("sale_date"),
            "state": self.header.get("state"),
            "shipment_state": self.header.get("shipment_state"),
            "invoice_state": self.header.get("invoice_state"),
        }

    def invoice_payload(self) -> dict[str, Any]:
        """The native invoice payload."""
        sales = self.header.get("sales") or []
        return {
            **self.common_payload(),
            "invoice_date": self.header.get("invoice_date"),
            "due_date": self.extra.get("due_date"),
            "state": self.header.get("state"),
            "sale": sales[0] if len(sales) == 1 else None,
        }


# --- the readers ----------------------------------------------------------------------------

_LINE_FIELDS: Final = [
    "type",
    "product",
    "description",
    "quantity",
    "unit.name",
    "unit_price",
    "taxes",
    "sequence",
]


class Readers:
    """Read each entity's rows by id, and name the tables its changes show in."""

    def __init__(
        self, rpc: TrytonRPC, lookups: Lookups, customer_domain: Sequence[Any] = ()
    ) -> None:
        self._rpc = rpc
        self._lookups = lookups
        self._customer_domain = list(customer_domain)

    # -- change sources -------------------------------------------------------------

    def _customer_filter(self) -> list[Any]:
        return [("id", "not in", self._lookups.company_parties()), *self._customer_domain]

    def sources(self, entity: str) -> list[ChangeSource]:
        """The tables whose rows, when they change, change a record of ``entity``."""
        if entity == "customer":
            parties = tuple(self._customer_filter())
            child = (("party", "where", list(parties)),)
            return [
                ChangeSource("party.party", domain=parties),
                ChangeSource("party.address", "party", domain=child, fanout=2),
                ChangeSource("party.contact_mechanism", "party", domain=child, fanout=4),
                ChangeSource("party.identifier", "party", domain=child, fanout=2),
            ]
        if entity == "product":
            return [
                ChangeSource("product.product"),
                ChangeSource("product.product", stamp=f"template.{_ROW_STAMP}"),
                ChangeSource("product.identifier", "product", fanout=2),
            ]
        if entity == "price_list":
            return [
                ChangeSource("product.price_list"),
                ChangeSource("product.price_list.line", "price_list", fanout=4),
            ]
        if entity == "order":
            return [ChangeSource("sale.sale"), ChangeSource("sale.line", "sale", fanout=4)]
        if entity == "invoice":
            out = (("type", "=", "out"),)
            return [
                ChangeSource("account.invoice", domain=out),
                ChangeSource(
                    "account.invoice.line",
                    "invoice",
                    domain=(("invoice", "where", [("type", "=", "out")]),),
                    fanout=4,
                ),
            ]
        raise KeyError(entity)

    # -- loaders for the sweep and fetch ------------------------------------------------

    def load(self, entity: str, ids: Sequence[int]) -> dict[int, Loaded]:
        """Native records of ``entity`` for the ids that exist."""
        if not ids:
            return {}
        if entity == "customer":
            return {
                k: _loaded(k, r.payload(), r.stamp, r.reference)
                for k, r in self.customers(ids).items()
            }
        if entity == "product":
            return {
                k: _loaded(k, r.payload(), r.stamp, r.reference)
                for k, r in self.products(ids).items()
            }
        if entity == "price_list":
            return {
                k: _loaded(k, r.payload(), r.stamp, r.reference)
                for k, r in self.price_lists(ids).items()
            }
        if entity == "order":
            return {
                k: _loaded(k, r.order_payload(), r.stamp, r.reference)
                for k, r in self.sales(ids).items()
            }
        if entity == "invoice":
            return {
                k: _loaded(k, r.invoice_payload(), r.stamp, None)
                for k, r in self.invoices(ids).items()
            }
        raise KeyError(entity)

    def _children(
        self, model: str, key: str, ids: Sequence[int], fields: Sequence[str]
    ) -> dict[int, list[Row]]:
        rows = self._rpc.search_read(
            model, [(key, "in", list(ids))], [key, _ROW_STAMP, *fields], context=_INACTIVE_TOO
        )
        grouped: dict[int, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[int(row[key])].append(row)
        for group in grouped.values():
            group.sort(key=_sequence_key)
        return grouped

    def customers(self, ids: Sequence[int]) -> dict[int, CustomerRows]:
        """Parties (not the company's own) with their rows."""
        parties = self._rpc.search_read(
            "party.party",
            [("id", "in", list(ids)), *self._customer_filter()],
            [
                "name",
                "active",
                _ROW_STAMP,
                "_timestamp",
                "customer_payment_term.name",
                "customer_currency.code",
            ],
            context=_INACTIVE_TOO,
        )
        found = [int(p["id"]) for p in parties]
        if not found:
            return {}
        # Read in the default context: the tax identifier must be an active one.
        tax = {
            int(r["id"]): r.get("tax_identifier")
            for r in self._rpc.read("party.party", found, ["tax_identifier"])
        }
        addresses = self._children(
            "party.address", "party", found,
            ["street", "city", "postal_code", "country.code", "subdivision.code",
             "invoice", "delivery", "sequence", "active"],
        )  # fmt: skip
        mechanisms = self._children(
            "party.contact_mechanism", "party", found, ["type", "value", "sequence", "active"]
        )
        identifiers = self._children(
            "party.identifier",
            "party",
            found,
            ["type", "code", "code_compact", "sequence", "active"],
        )
        return {
            int(p["id"]): CustomerRows(
                p,
                addresses.get(int(p["id"]), []),
                mechanisms.get(int(p["id"]), []),
                identifiers.get(int(p["id"]), []),
                tax.get(int(p["id"])),
            )
            for p in parties
        }

    def products(self, ids: Sequence[int]) -> dict[int, ProductRows]:
        """Product variants with their template's fields and their identifiers."""
        rows = self._rpc.search_read(
            "product.product",
            [("id", "in", list(ids))],
            ["code", "suffix_code", "name", "description", "type", "default_uom.name",
             "active", "template", "template.active", "template.code",
             f"template.{_ROW_STAMP}", _ROW_STAMP],
            context=_INACTIVE_TOO,
        )  # fmt: skip
        found = [int(r["id"]) for r in rows]
        identifiers = (
            self._children("product.identifier", "product", found, ["type", "code", "sequence"])
            if found
            else {}
        )
        return {int(r["id"]): ProductRows(r, identifiers.get(int(r["id"]), [])) for r in rows}

    def price_lists(self, ids: Sequence[int]) -> dict[int, PriceListRows]:
        """Price lists with their lines and reference notes."""
        rows = self._rpc.search_read(
            "product.price_list",
            [("id", "in", list(ids))],
            ["name", "active", "company", "price", _ROW_STAMP],
            context=_INACTIVE_TOO,
        )
        found = [int(r["id"]) for r in rows]
        if not found:
            return {}
        lines = self._children(
            "product.price_list.line", "price_list", found,
            ["product", "category", "quantity", "formula", "sequence"],
        )  # fmt: skip
        notes = self._rpc.search_read(
            "ir.note",
            [("resource", "in", [f"product.price_list,{i}" for i in found]),
             ("message", "like", "crmerp:%")],
            ["resource", "message"],
            order=[("id", "ASC")],
        )  # fmt: skip
        references: dict[int, str] = {}
        for note in notes:
            owner = int(str(note["resource"]).rpartition(",")[2])
            message = str(note.get("message") or "").strip()
            if global_id_of(message) is not None:
                references.setdefault(owner, message)
        return {
            int(r["id"]): PriceListRows(
                r,
                lines.get(int(r["id"]), []),
                self._lookups.company_currency(int(r["company"])),
                references.get(int(r["id"])),
            )
            for r in rows
        }

    def sales(self, ids: Sequence[int]) -> dict[int, DocumentRows]:
        """Sales with their lines."""
        rows = self._rpc.search_read(
            "sale.sale",
            [("id", "in", list(ids))],
            ["number", "reference", "party", "currency.code", "payment_term.name",
             "sale_date", "state", "shipment_state", "invoice_state", "untaxed_amount",
             "tax_amount", "total_amount", _ROW_STAMP],
            context=_INACTIVE_TOO,
        )  # fmt: skip
        return self._documents(rows, "sale.line", "sale")

    def invoices(self, ids: Sequence[int]) -> dict[int, DocumentRows]:
        """Customer invoices and credit notes with their lines and due date."""
        rows = self._rpc.search_read(
            "account.invoice",
            [("id", "in", list(ids)), ("type", "=", "out")],
            ["number", "party", "currency.code", "payment_term.name", "invoice_date",
             "state", "sales", "untaxed_amount", "tax_amount", "total_amount",
             "lines_to_pay", _ROW_STAMP],
            context=_INACTIVE_TOO,
        )  # fmt: skip
        documents = self._documents(rows, "account.invoice.line", "invoice")
        to_pay = sorted({i for r in rows for i in r.get("lines_to_pay") or ()})
        if to_pay:
            due = {
                int(m["id"]): m.get("maturity_date")
                for m in self._rpc.read("account.move.line", to_pay, ["maturity_date"])
            }
            for row in rows:
                dates: list[dt.date] = [
                    d for i in row.get("lines_to_pay") or () if isinstance(d := due.get(i), dt.date)
                ]
                documents[int(row["id"])].extra["due_date"] = min(dates) if dates else None
        return documents

    def _documents(self, rows: list[Row], line_model: str, key: str) -> dict[int, DocumentRows]:
        found = [int(r["id"]) for r in rows]
        if not found:
            return {}
        lines = self._children(line_model, key, found, _LINE_FIELDS)
        taxes: dict[int, dict[str, Any]] = {}
        for group in lines.values():
            for line in group:
                for tax_id in line.get("taxes") or ():
                    if tax_id not in taxes:
                        tax = self._lookups.tax(int(tax_id))
                        taxes[tax_id] = {"name": tax.name, "type": tax.type, "rate": tax.rate}
        return {int(r["id"]): DocumentRows(r, lines.get(int(r["id"]), []), taxes) for r in rows}


def _loaded(key: int, payload: dict[str, Any], stamp: dt.datetime, reference: str | None) -> Loaded:
    record = NativeRecord(
        str(key), payload, stamp=stamp, reference=reference, version=version_of(stamp)
    )
    return Loaded(record, stamp)


def version_of(stamp: dt.datetime) -> str:
    """A record's version: its stamp, the newest modification among all its rows
    (a child edited on its own, an address say, changes it too)."""
    return stamp.isoformat()
