"""Turn native payloads into Tryton calls: create, update, delete one record.

Each writer handles one entity and one record at a time; the adapter turns its
exceptions into per-record answers. Updates compare the wanted payload with the
record as it is now and write only what differs, in one ``write`` call where
Tryton allows it (children through the parent's one2many actions), so an
unchanged record is not touched and keeps its modification stamp.

Children that disappear from a payload (an address, a phone number) are
archived, not deleted: sales and invoices may point at them.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

from crmerp._errors import DataError
from crmerp.adapters._mapping import EntityMapping, parse_date
from crmerp.adapters.tryton._formula import parse_formula, plain_decimal
from crmerp.adapters.tryton._lookup import Lookups
from crmerp.adapters.tryton._mappings import CUSTOMER, ORDER, PRICE_LIST, PRODUCT, quantity_in
from crmerp.adapters.tryton._read import (
    CustomerRows,
    DocumentRows,
    PriceListRows,
    ProductRows,
    Readers,
    address_payload,
    is_neutral_line,
    marker_of,
    split_marker,
)
from crmerp.adapters.tryton._rpc import TrytonFault, TrytonRPC
from crmerp.models import Phone

__all__ = [
    "CustomerWriter",
    "OrderWriter",
    "PriceListWriter",
    "ProductWriter",
    "Writer",
    "tax_identifier_type",
]

Action = list[Any]
_EDITABLE: Final = frozenset({"draft", "quotation"})
_UNDER_WAY: Final = frozenset({"confirmed", "fulfilled", "invoiced"})


class Writer(ABC):
    """Writes one entity. ``create`` and ``update`` answer the record's Tryton id."""

    mapping: EntityMapping
    entity: str = ""

    def __init__(self, rpc: TrytonRPC, lookups: Lookups, readers: Readers) -> None:
        self.rpc = rpc
        self.lookups = lookups
        self.readers = readers

    @abstractmethod
    def create(self, payload: Mapping[str, Any], reference: str) -> int:
        """Create the record, stamped with ``reference``; answer its id."""

    @abstractmethod
    def update(
        self, native_id: int, payload: Mapping[str, Any], reference: str | None = None
    ) -> int:
        """Make the record look like ``payload``; answer its id.

        ``reference`` is given when a create found the record by its reference:
        a writer that keeps the reference apart from the record makes sure it is
        there.
        """

    @abstractmethod
    def delete(self, native_id: int) -> None:
        """Delete the record (nothing to do when it is already gone)."""

    def missing(self, native_id: int) -> DataError:
        """The error for an update of a record that does not exist."""
        return DataError(f"Tryton has no record {native_id}", native_id=str(native_id))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _canonical(mapping: EntityMapping, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical field values of a payload, for comparing two payloads."""
    return mapping.load(payload)


# --- customers -----------------------------------------------------------------------------


def tax_identifier_type(code: str, country: str | None) -> str:
    """The Tryton identifier type for a tax id: ``eu_vat`` for an EU VAT number
    with its country prefix, else ``<cc>_<number>`` of the country's VAT module in
    python-stdnum (``us_ein``, ``ch_vat``, ...), which is how Tryton names them."""
    with contextlib.suppress(StdnumError):
        if code[:2].isalpha() and eu_vat.is_valid(code):
            return "eu_vat"
    if country:
        try:
            module = get_cc_module(country.lower(), "vat")
        except Exception:  # python-stdnum raises several kinds for unknown countries
            module = None
        if module is not None and getattr(module, "is_valid", lambda _c: False)(code):
            name = str(getattr(module, "__name__", ""))
            return f"{country.lower()}_{name.rsplit('.', 1)[-1]}"
    raise DataError(
        f"cannot tell the Tryton identifier type of tax id {code!r}: write it as an EU "
        "VAT number with its country prefix, or give the customer an address in the "
        "country that issued it",
        field="tax_id",
        value=code,
    )


def _pair_up(
    current: Sequence[Any], wanted: Sequence[Any], same: Callable[[Any, Any], bool]
) -> tuple[dict[int, int], list[int], list[int]]:
    """Match wanted items to current ones: equal ones first, then the rest in order.

    Answers ``{wanted index: current index}``, the unmatched wanted indexes and
    the unmatched current indexes.
    """
    pairs: dict[int, int] = {}
    free = list(range(len(current)))
    for w, item in enumerate(wanted):
        for c in free:
            if same(current[c], item):
                pairs[w] = c
                free.remove(c)
                break
    return pairs, [w for w in range(len(wanted)) if w not in pairs], free


class CustomerWriter(Writer):
    """party.party with addresses, contact mechanisms and identifiers."""

    mapping = CUSTOMER
    entity = "customer"

    # -- values -------------------------------------------------------------------------

    def _address_values(self, address: Mapping[str, Any], sequence: int) -> dict[str, Any]:
        country = address.get("country")
        country_id = self.lookups.country(str(country)) if country else None
        region = _text(address.get("subdivision")).strip()
        if region and country_id is None:
            raise DataError(
                "an address with a region needs a country", field="region", value=region
            )
        return {
            "street": _text(address.get("street")),
            "city": _text(address.get("city")),
            "postal_code": _text(address.get("postal_code")),
            "country": country_id,
            "subdivision": self.lookups.subdivision(country_id, region)
            if region and country_id is not None
            else None,
            "invoice": bool(address.get("invoice")),
            "delivery": bool(address.get("delivery")),
            "sequence": sequence,
        }

    def _header_values(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "name" in payload:
            values["name"] = payload["name"]
        if "active" in payload:
            values["active"] = bool(payload["active"])
        if "payment_term" in payload:
            term = payload["payment_term"]
            values["customer_payment_term"] = self.lookups.payment_term(term) if term else None
        if "currency" in payload:
            code = payload["currency"]
            values["customer_currency"] = self.lookups.currency(code) if code else None
        return values

    @staticmethod
    def _region(payload: Mapping[str, Any]) -> str | None:
        for address in payload.get("addresses") or ():
            if address.get("country"):
                return str(address["country"])
        return None

    def _tax_values(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        code = payload.get("tax_identifier")
        if not code:
            return None
        return {"type": tax_identifier_type(str(code), self._region(payload)), "code": code}

    # -- create ----------------------------------------------------------------------------

    def create(self, payload: Mapping[str, Any], reference: str) -> int:
        values = self._header_values(payload)
        values["addresses"] = [["create", [
            self._address_values(a, i) for i, a in enumerate(payload.get("addresses") or ())
        ]]]  # fmt: skip
        mechanisms = [
            {"type": "email", "value": v, "sequence": i}
            for i, v in enumerate(payload.get("emails") or ())
        ] + [
            {"type": "phone", "value": v, "sequence": i}
            for i, v in enumerate(payload.get("phones") or ())
        ]
        values["contact_mechanisms"] = [["create", mechanisms]]
        identifiers: list[dict[str, Any]] = [{"type": None, "code": reference, "sequence": 0}]
        if tax := self._tax_values(payload):
            identifiers.append({**tax, "sequence": 1})
        values["identifiers"] = [["create", identifiers]]
        (party_id,) = self.rpc.create("party.party", [values])
        return party_id

    # -- update ----------------------------------------------------------------------------

    def update(
        self, native_id: int, payload: Mapping[str, Any], reference: str | None = None
    ) -> int:
        rows = self.readers.customers([native_id]).get(native_id)
        if rows is None:
            raise self.missing(native_id)
        current = rows.payload()
        values = {
            k: v for k, v in self._header_values(payload).items()
            if self._header_differs(k, v, rows)
        }  # fmt: skip
        if actions := self._address_actions(rows, payload):
            values["addresses"] = actions
        if actions := self._mechanism_actions(rows, payload):
            values["contact_mechanisms"] = actions
        if "tax_identifier" in payload and self._tax_differs(current, payload):
            values["identifiers"] = self._identifier_actions(rows, payload)
        if values:
            # trytond refuses the write (ConcurrencyException) if the party row
            # changed since it was read just above.
            stamp = {f"party.party,{native_id}": rows.party.get("_timestamp")}
            self.rpc.write("party.party", [native_id], values, context={"_timestamp": stamp})
        return native_id

    @staticmethod
    def _header_differs(key: str, value: Any, rows: CustomerRows) -> bool:
        party = rows.party
        if key in ("customer_payment_term", "customer_currency"):
            return bool((party.get(f"{key}.") or {}).get("id") != value)
        if key == "active":
            return bool(party.get("active", True)) is not bool(value)
        return bool(party.get(key) != value)

    def _address_actions(self, rows: CustomerRows, payload: Mapping[str, Any]) -> list[Action]:
        if "addresses" not in payload:
            return []
        current = rows.active_addresses()
        wanted = list(payload["addresses"] or ())
        view = [_address_view(address_payload(r)) for r in current]
        pairs, new, gone = _pair_up(view, [_address_view(a) for a in wanted], lambda c, w: c == w)
        actions: list[Action] = []
        unpaired = list(gone)
        for w in new[: len(unpaired)]:
            pairs[w] = unpaired.pop(0)
        for w, c in sorted(pairs.items()):
            row = current[c]
            if view[c] != _address_view(wanted[w]):
                actions.append(["write", [row["id"]], self._address_values(wanted[w], w)])
            elif row.get("sequence") != w:
                actions.append(["write", [row["id"]], {"sequence": w}])
        if created := [self._address_values(wanted[w], w) for w in new if w not in pairs]:
            actions.append(["create", created])
        if unpaired:
            actions.append(["write", [current[c]["id"] for c in unpaired], {"active": False}])
        return actions

    def _mechanism_actions(self, rows: CustomerRows, payload: Mapping[str, Any]) -> list[Action]:
        region = self._region(payload)
        actions: list[Action] = []
        groups = (
            ("emails", ("email",), "email", _email_key),
            ("phones", ("phone", "mobile"), "phone", lambda v: _phone_key(v, region)),
        )
        for key, types, new_type, norm in groups:
            if key not in payload:
                continue
            current = rows.active_mechanisms(*types)
            wanted = list(payload[key] or ())
            pairs, new, gone = _pair_up(
                [norm(m["value"]) for m in current], [norm(v) for v in wanted],
                lambda c, w: c == w,
            )  # fmt: skip
            for w, c in sorted(pairs.items()):
                if current[c].get("sequence") != w:
                    actions.append(["write", [current[c]["id"]], {"sequence": w}])
            if new:
                actions.append(["create", [
                    {"type": new_type, "value": wanted[w], "sequence": w} for w in new
                ]])  # fmt: skip
            if gone:
                actions.append(["write", [current[c]["id"] for c in gone], {"active": False}])
        return actions

    @staticmethod
    def _tax_differs(current: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
        return _compact(current.get("tax_identifier")) != _compact(payload.get("tax_identifier"))

    def _identifier_actions(self, rows: CustomerRows, payload: Mapping[str, Any]) -> list[Action]:
        actions: list[Action] = []
        old = rows.tax_row()
        if old is not None:
            actions.append(["write", [old["id"]], {"active": False}])
        if tax := self._tax_values(payload):
            actions.append(["create", [{**tax, "sequence": 1}]])
        return actions

    def delete(self, native_id: int) -> None:
        if self.readers.customers([native_id]):
            self.rpc.delete("party.party", [native_id])


def _address_view(address: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        _text(address.get("street")).strip(),
        _text(address.get("city")).strip(),
        _text(address.get("postal_code")).strip(),
        _text(address.get("subdivision")).strip().casefold(),
        _text(address.get("country")).strip().upper(),
        bool(address.get("invoice")),
        bool(address.get("delivery")),
    )


def _email_key(value: Any) -> str:
    text = _text(value).strip()
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}" if local else text


def _phone_key(value: Any, region: str | None) -> str:
    return Phone.parse(_text(value), region).number


def _compact(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", _text(value)).upper()


# --- products -------------------------------------------------------------------------------


class ProductWriter(Writer):
    """product.product and its template; ``code`` (the SKU) is the variant's code."""

    mapping = PRODUCT
    entity = "product"

    def __init__(
        self,
        rpc: TrytonRPC,
        lookups: Lookups,
        readers: Readers,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(rpc, lookups, readers)
        self.defaults = dict(defaults or {})

    def create(self, payload: Mapping[str, Any], reference: str) -> int:
        uom = self.lookups.uom(str(payload.get("uom") or "unit"))
        identifiers: list[dict[str, Any]] = [{"type": None, "code": reference}]
        if payload.get("gtin"):
            identifiers.append({"type": "ean", "code": payload["gtin"]})
        active = bool(payload.get("active", True))
        template = {
            "salable": True,
            **self.defaults,
            "name": payload["name"],
            "type": payload.get("type") or "goods",
            "default_uom": uom,
            "sale_uom": uom,
            "active": active,
            "products": [["create", [{
                "suffix_code": payload["code"],
                "description": _text(payload.get("description")),
                "active": active,
                "identifiers": [["create", identifiers]],
            }]]],
        }  # fmt: skip
        (template_id,) = self.rpc.create("product.template", [template])
        (product_id,) = self.rpc.search(
            "product.product", [("template", "=", template_id)], context={"active_test": False}
        )
        return product_id

    def update(
        self, native_id: int, payload: Mapping[str, Any], reference: str | None = None
    ) -> int:
        rows = self.readers.products([native_id]).get(native_id)
        if rows is None:
            raise self.missing(native_id)
        alone = self._variants(rows.template) == 1
        template: dict[str, Any] = {}
        variant: dict[str, Any] = {}
        row = rows.product
        if "name" in payload and payload["name"] != row.get("name"):
            template["name"] = payload["name"]
        # "assets" reads as goods; writing goods back must not change it.
        kept_assets = payload.get("type") == "goods" and row.get("type") == "assets"
        if "type" in payload and payload["type"] != row.get("type") and not kept_assets:
            template["type"] = payload["type"]
        if "uom" in payload:
            uom = self.lookups.uom(str(payload["uom"] or "unit"))
            if uom != (row.get("default_uom.") or {}).get("id"):
                template.update(default_uom=uom, sale_uom=uom)
        if "code" in payload and payload["code"] != row.get("code"):
            template.update(self._code_values(rows, str(payload["code"]), alone, variant))
        if "description" in payload and _text(payload["description"]) != _text(
            row.get("description")
        ):
            variant["description"] = _text(payload["description"])
        if "active" in payload and bool(payload["active"]) != rows.payload()["active"]:
            variant["active"] = bool(payload["active"])
            if alone:
                template["active"] = bool(payload["active"])
        self._write_gtin(rows, payload)
        if variant:
            template["products"] = [["write", [native_id], variant]]
        if template:
            self.rpc.write("product.template", [rows.template], template)
        return native_id

    def _variants(self, template_id: int) -> int:
        return len(
            self.rpc.search(
                "product.product", [("template", "=", template_id)], context={"active_test": False}
            )
        )

    @staticmethod
    def _code_values(
        rows: ProductRows, sku: str, alone: bool, variant: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = _text((rows.product.get("template.") or {}).get("code"))
        if prefix and sku.startswith(prefix):
            variant["suffix_code"] = sku[len(prefix) :]
            return {}
        if prefix and not alone:
            raise DataError(
                f"SKU {sku!r} does not start with the code {prefix!r} its template "
                "shares with other variants",
                field="sku",
                value=sku,
            )
        variant["suffix_code"] = sku
        return {"code": None} if prefix else {}

    def _write_gtin(self, rows: ProductRows, payload: Mapping[str, Any]) -> None:
        if "gtin" not in payload:
            return
        current = rows.gtin_rows()
        wanted = payload["gtin"] or None
        if (current[0]["code"] if current else None) == wanted:
            return
        if current and wanted is None:
            self.rpc.delete("product.identifier", [current[0]["id"]])
        elif current:
            self.rpc.write("product.identifier", [current[0]["id"]], {"code": wanted})
        else:
            self.rpc.create("product.identifier", [
                {"product": int(rows.product["id"]), "type": "ean", "code": wanted, "sequence": 0}
            ])  # fmt: skip

    def delete(self, native_id: int) -> None:
        rows = self.readers.products([native_id]).get(native_id)
        if rows is None:
            return
        if self._variants(rows.template) == 1:
            self.rpc.delete("product.template", [rows.template])
        else:
            self.rpc.delete("product.product", [native_id])


# --- price lists ----------------------------------------------------------------------------


class PriceListWriter(Writer):
    """product.price_list with fixed-price product lines.

    The reference cannot go into a field of its own (a price list has none to
    spare), so it is kept in a note (``ir.note``) on the price list. A create is
    three calls, each leaving the reference findable if the next never happens:
    create the list with the reference appended to its name, add the note, then
    take the reference off the name.
    """

    mapping = PRICE_LIST
    entity = "price_list"

    def _company_currency(self, payload: Mapping[str, Any]) -> None:
        company = self.rpc.context.get("company")
        wanted = payload.get("currency")
        if company and wanted:
            have = self.lookups.company_currency(int(company))
            if have != wanted:
                raise DataError(
                    f"a Tryton price list is in its company's currency {have}, not {wanted}",
                    field="currency",
                    value=wanted,
                )

    @staticmethod
    def _line_values(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        values = []
        for index, line in enumerate(lines):
            quantity = line.get("quantity")
            values.append({
                "product": int(line["product"]),
                "quantity": None if quantity is None else float(quantity),
                "formula": str(line["formula"]),
                "sequence": index,
            })  # fmt: skip
        return values

    def create(self, payload: Mapping[str, Any], reference: str) -> int:
        self._company_currency(payload)
        name = str(payload["name"])
        values = {
            "name": name + marker_of(reference),
            "active": bool(payload.get("active", True)),
            "price": "list_price",
            "lines": [["create", self._line_values(payload.get("lines") or ())]],
        }
        (price_list_id,) = self.rpc.create("product.price_list", [values])
        self._note(price_list_id, reference)
        self.rpc.write("product.price_list", [price_list_id], {"name": name})
        return price_list_id

    def update(
        self, native_id: int, payload: Mapping[str, Any], reference: str | None = None
    ) -> int:
        rows = self.readers.price_lists([native_id]).get(native_id)
        if rows is None:
            raise self.missing(native_id)
        self._company_currency(payload)
        current = rows.payload()
        values: dict[str, Any] = {}
        raw_name = str(rows.price_list.get("name") or "")
        if "name" in payload and (
            payload["name"] != current["name"] or split_marker(raw_name)[1] is not None
        ):
            values["name"] = payload["name"]
        if "active" in payload and bool(payload["active"]) != current["active"]:
            values["active"] = bool(payload["active"])
        if "lines" in payload and not self._same_lines(current["lines"], payload["lines"]):
            values["lines"] = self._line_actions(rows, payload["lines"] or [])
        if reference is not None and rows.note_reference is None:
            self._note(native_id, reference)  # a create that stopped after its first call
        if values:
            self.rpc.write("product.price_list", [native_id], values)
        return native_id

    def _note(self, price_list_id: int, reference: str) -> None:
        self.rpc.create(
            "ir.note", [{"resource": f"product.price_list,{price_list_id}", "message": reference}]
        )

    @staticmethod
    def _same_lines(
        current: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]
    ) -> bool:
        def view(line: Mapping[str, Any]) -> tuple[Any, ...]:
            quantity = line.get("quantity")
            price: tuple[Any, ...]
            try:
                price = parse_formula(str(line.get("formula") or ""))
            except DataError:
                price = (str(line.get("formula")),)
            return (
                _text(line.get("product")),
                Decimal(0) if quantity is None else quantity_in(quantity),
                price,
            )

        return [view(c) for c in current] == [view(w) for w in wanted]

    def _line_actions(
        self, rows: PriceListRows, lines: Sequence[Mapping[str, Any]]
    ) -> list[Action]:
        mapped = [line["id"] for line in rows.product_lines()]
        kept = [line for line in rows.lines if is_neutral_line(line)]
        new = self._line_values(lines)
        actions: list[Action] = []
        if mapped:
            actions.append(["delete", mapped])
        if new:
            actions.append(["create", new])
        for offset, line in enumerate(kept):
            # Catch-all lines keep their place after every product line.
            actions.append(["write", [line["id"]], {"sequence": len(new) + offset}])
        return actions

    def delete(self, native_id: int) -> None:
        if self.readers.price_lists([native_id]):
            self.rpc.delete("product.price_list", [native_id])


# --- orders ---------------------------------------------------------------------------------


class OrderWriter(Writer):
    """sale.sale, driven through Tryton's buttons to the wanted status.

    A create makes the sale in draft (with the engine's reference in the sale's
    ``reference``), then quotes and confirms it when the order is confirmed.
    Tryton accepts changes to a sale only before it is confirmed.
    """

    mapping = ORDER
    entity = "order"

    def _header_defaults(self, party: int, currency: int | None) -> dict[str, Any]:
        answer = self.rpc.model("sale.sale", "on_change_party", {
            "party": party,
            "company": self.rpc.context.get("company"),
            "currency": currency,
        })  # fmt: skip
        keep = (
            "invoice_address",
            "shipment_address",
            "payment_term",
            "price_list",
            "invoice_method",
            "shipment_method",
        )
        return {k: answer[k] for k in keep if k in answer and answer[k] is not None}

    def _taxes(self, line: Mapping[str, Any]) -> list[int]:
        taxes = line.get("taxes") or []
        rate = sum((Decimal(str(t["rate"])) for t in taxes), Decimal(0))
        if not rate:
            return []
        company = self.rpc.context.get("company")
        found = self.lookups.taxes_at_rate(rate, int(company) if company else None)
        if not found:
            raise DataError(
                f"Tryton has no percentage tax at {plain_decimal(rate * 100)} %",
                field="lines.tax_rate",
                value=rate,
            )
        return [found[0].id]

    def _line_values(self, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        values = []
        for index, line in enumerate(lines):
            unit = line.get("unit")
            values.append({
                "type": "line",
                "product": None if line.get("product") is None else int(line["product"]),
                "description": _text(line.get("description")),
                "quantity": float(line["quantity"]),
                "unit": self.lookups.uom(str(unit)) if unit else None,
                "unit_price": Decimal(str(line["unit_price"])),
                "taxes": [["add", self._taxes(line)]],
                "sequence": index,
            })  # fmt: skip
        return values

    def _header_values(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if payload.get("currency"):
            values["currency"] = self.lookups.currency(str(payload["currency"]))
        if payload.get("payment_term"):
            values["payment_term"] = self.lookups.payment_term(str(payload["payment_term"]))
        if "sale_date" in payload:
            values["sale_date"] = parse_date(payload["sale_date"])
        return values

    def create(self, payload: Mapping[str, Any], reference: str) -> int:
        party = int(payload["party"])
        header = self._header_values(payload)
        values = {
            **self._header_defaults(party, header.get("currency")),
            **header,
            "party": party,
            "reference": reference,
            "lines": [["create", self._line_values(payload.get("lines") or ())]],
        }
        (sale_id,) = self.rpc.create("sale.sale", [values])
        try:
            self._drive(sale_id, "draft", str(payload.get("state") or "draft"))
        except (DataError, TrytonFault):
            # Leave nothing half-made behind a refused order; the reference is
            # still on it if this cleanup fails, so a retry finds it.
            with contextlib.suppress(DataError, TrytonFault):
                self.rpc.button("sale.sale", "cancel", [sale_id])
                self.rpc.delete("sale.sale", [sale_id])
            raise
        return sale_id

    def update(
        self, native_id: int, payload: Mapping[str, Any], reference: str | None = None
    ) -> int:
        rows = self.readers.sales([native_id]).get(native_id)
        if rows is None:
            raise self.missing(native_id)
        state = str(rows.header["state"])
        if self._content_differs(rows, payload):
            if state not in _EDITABLE:
                raise DataError(
                    f"sale {rows.header.get('number') or native_id} is {state}: Tryton "
                    "accepts changes to a sale only before it is confirmed",
                    native_id=str(native_id),
                )
            if state == "quotation":
                self.rpc.button("sale.sale", "draft", [native_id])
                state = "draft"
            self._rewrite(rows, payload)
        self._drive(native_id, state, str(payload.get("state") or "draft"))
        return native_id

    def _content_differs(self, rows: DocumentRows, payload: Mapping[str, Any]) -> bool:
        current = _canonical(ORDER, rows.order_payload())
        wanted = _canonical(ORDER, {**rows.order_payload(), **payload})
        keys = ["customer_id", "currency", "lines", "ordered_on"]
        if wanted.get("payment_terms"):
            keys.append("payment_terms")
        return any(current.get(k) != wanted.get(k) for k in keys)

    def _rewrite(self, rows: DocumentRows, payload: Mapping[str, Any]) -> None:
        values = self._header_values(payload)
        party = payload.get("party")
        if party is not None and int(party) != rows.header.get("party"):
            values["party"] = int(party)
            values.update({
                k: v for k, v in self._header_defaults(int(party), values.get("currency")).items()
                if k in ("invoice_address", "shipment_address")
            })  # fmt: skip
        lines = [line["id"] for line in rows.item_lines()]
        actions: list[Action] = [["delete", lines]] if lines else []
        if new := self._line_values(payload.get("lines") or ()):
            actions.append(["create", new])
        values["lines"] = actions
        self.rpc.write("sale.sale", [int(rows.header["id"])], values)

    def _drive(self, sale_id: int, state: str, wanted_state: str) -> None:
        """Press the buttons that take the sale from ``state`` to the wanted status.

        Fulfilled and invoiced cannot be pressed: they follow Tryton's shipments
        and invoices, so wanting them confirms the sale and leaves the rest to Tryton.
        """
        wanted = _status_of_state(wanted_state)
        if wanted == "cancelled" and state in _EDITABLE:
            self.rpc.button("sale.sale", "cancel", [sale_id])
        elif wanted in _UNDER_WAY and state in _EDITABLE:
            if state == "draft":
                self.rpc.button("sale.sale", "quote", [sale_id])
            self.rpc.button("sale.sale", "confirm", [sale_id])
        self._check_status(sale_id, wanted)

    def _check_status(self, sale_id: int, wanted: str) -> None:
        rows = self.readers.sales([sale_id])[sale_id]
        have = str(ORDER.load(rows.order_payload())["status"])
        if have == wanted or (have in _UNDER_WAY and wanted in _UNDER_WAY):
            return
        raise DataError(
            f"sale {rows.header.get('number') or sale_id} is {rows.header.get('state')} "
            f"({have}) in Tryton and cannot be made {wanted}",
            field="status",
            value=wanted,
            native_id=str(sale_id),
        )

    def delete(self, native_id: int) -> None:
        rows = self.readers.sales([native_id]).get(native_id)
        if rows is None:
            return
        state = rows.header["state"]
        if state in _EDITABLE:
            self.rpc.button("sale.sale", "cancel", [native_id])
        elif state != "cancelled":
            raise DataError(
                f"sale {rows.header.get('number') or native_id} is {state}: Tryton deletes "
                "a sale only before it is confirmed",
                native_id=str(native_id),
            )
        self.rpc.delete("sale.sale", [native_id])


def _status_of_state(state: str) -> str:
    return {
        "draft": "draft",
        "quotation": "draft",
        "confirmed": "confirmed",
        "processing": "fulfilled",
        "done": "invoiced",
        "cancelled": "cancelled",
    }.get(state, state)
