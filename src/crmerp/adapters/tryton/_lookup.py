"""Names <-> ids of Tryton's small reference tables, read once and cached.

The native payloads of the adapter carry codes and names (``"FR"``, ``"EUR"``,
``"Unit"``, ``"Immediate"``) rather than Tryton ids, so a payload means the same
on every database. This module translates them to ids for writes, re-reading a
table once when a name is not found (it may have been added since).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from crmerp._errors import MappingError
from crmerp.adapters.tryton._rpc import TrytonRPC

__all__ = ["Lookups", "TaxInfo"]

_INACTIVE_TOO: Final = {"active_test": False}


@attrs.frozen
class TaxInfo:
    """One ``account.tax``: its type (``percentage``/``fixed``/...) and rate."""

    id: int
    name: str
    type: str
    rate: Decimal | None
    parent: int | None
    company: int | None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class _Table:
    """One cached table: id -> row, and a text key -> id index built by ``index``."""

    def __init__(
        self,
        rpc: TrytonRPC,
        model: str,
        fields: list[str],
        index: Callable[[Mapping[str, Any]], list[str]],
        *,
        inactive: bool = False,
    ) -> None:
        self._rpc = rpc
        self._model = model
        self._fields = fields
        self._index = index
        self._inactive = inactive
        self.rows: dict[int, dict[str, Any]] = {}
        self._by_key: dict[str, int] = {}
        self._loaded = False

    def load(self) -> None:
        rows = self._rpc.search_read(
            self._model, [], self._fields, context=_INACTIVE_TOO if self._inactive else None
        )
        self.rows = {int(r["id"]): r for r in rows}
        self._by_key = {}
        # The first row wins a shared key: search order is the table's own.
        for row in rows:
            for key in self._index(row):
                self._by_key.setdefault(_fold(key), int(row["id"]))
        self._loaded = True

    def ensure(self) -> None:
        if not self._loaded:
            self.load()

    def find(self, key: str) -> int | None:
        self.ensure()
        found = self._by_key.get(_fold(key))
        if found is None:
            self.load()
            found = self._by_key.get(_fold(key))
        return found

    def row(self, id_: int) -> dict[str, Any] | None:
        self.ensure()
        if id_ not in self.rows:
            self.load()
        return self.rows.get(id_)


class Lookups:
    """The adapter's caches of countries, subdivisions, units, currencies,
    payment terms, taxes and companies."""

    def __init__(self, rpc: TrytonRPC) -> None:
        self._rpc = rpc
        self._countries = _Table(rpc, "country.country", ["code"], lambda r: [r["code"] or ""])
        self._uoms = _Table(
            rpc,
            "product.uom",
            ["name", "symbol"],
            lambda r: [r["name"] or "", f"symbol:{r['symbol'] or ''}"],
            inactive=True,
        )
        self._currencies = _Table(
            rpc, "currency.currency", ["code"], lambda r: [r["code"] or ""], inactive=True
        )
        self._terms = _Table(
            rpc,
            "account.invoice.payment_term",
            ["name"],
            lambda r: [r["name"] or ""],
            inactive=True,
        )
        self._taxes = _Table(
            rpc,
            "account.tax",
            ["name", "type", "rate", "parent", "company"],
            lambda r: [],
            inactive=True,
        )
        self._companies = _Table(
            rpc, "company.company", ["party", "currency.code"], lambda r: [], inactive=True
        )
        self._subdivisions: dict[tuple[int, str], int] = {}

    # -- countries and subdivisions -------------------------------------------------

    def country(self, code: str) -> int:
        """The id of the country with ISO code ``code``."""
        found = self._countries.find(code)
        if found is None:
            raise MappingError(f"Tryton has no country {code!r}", field="country", value=code)
        return found

    def subdivision(self, country_id: int, region: str) -> int:
        """The id of subdivision ``region`` of a country, by code (``US-CA`` or ``CA``)
        or by name."""
        key = (country_id, _fold(region))
        if key not in self._subdivisions:
            found = self._find_subdivision(country_id, region)
            if found is None:
                raise MappingError(
                    f"Tryton has no subdivision {region!r} in that country",
                    field="region",
                    value=region,
                )
            self._subdivisions[key] = found
        return self._subdivisions[key]

    def _find_subdivision(self, country_id: int, region: str) -> int | None:
        rows = self._rpc.search_read(
            "country.subdivision", [("country", "=", country_id)], ["code", "name"]
        )
        wanted = _fold(region)
        for row in rows:
            code = str(row["code"] or "")
            if wanted in (_fold(code), _fold(code.partition("-")[2])):
                return int(row["id"])
        for row in rows:
            if _fold(str(row["name"] or "")) == wanted:
                return int(row["id"])
        return None

    # -- units, currencies, payment terms ---------------------------------------------

    def uom(self, unit: str) -> int:
        """The id of the unit of measure named ``unit`` (any case), else with that symbol."""
        found = self._uoms.find(unit)
        if found is None:
            found = self._uoms.find(f"symbol:{unit}")
        if found is None:
            raise MappingError(f"Tryton has no unit of measure {unit!r}", field="unit", value=unit)
        return found

    def currency(self, code: str) -> int:
        """The id of the currency with ISO code ``code``."""
        found = self._currencies.find(code)
        if found is None:
            raise MappingError(f"Tryton has no currency {code!r}", field="currency", value=code)
        return found

    def payment_term(self, name: str) -> int:
        """The id of the payment term called ``name``."""
        found = self._terms.find(name)
        if found is None:
            raise MappingError(
                f"Tryton has no payment term {name!r}", field="payment_terms", value=name
            )
        return found

    # -- taxes ------------------------------------------------------------------------------

    def tax(self, tax_id: int) -> TaxInfo:
        """The tax with id ``tax_id``."""
        row = self._taxes.row(tax_id)
        if row is None:
            raise MappingError(f"Tryton has no tax {tax_id}", field="tax_rate", value=tax_id)
        return _tax_info(row)

    def taxes_at_rate(self, rate: Decimal, company: int | None) -> list[TaxInfo]:
        """Top-level percentage taxes of ``company`` whose rate is ``rate`` (a fraction)."""
        self._taxes.ensure()
        found = [
            _tax_info(row)
            for row in self._taxes.rows.values()
            if row["type"] == "percentage"
            and row["parent"] is None
            and row["rate"] == rate
            and (company is None or row["company"] == company)
        ]
        return sorted(found, key=lambda t: t.id)

    # -- companies ----------------------------------------------------------------------------

    def company_parties(self) -> list[int]:
        """Ids of the parties that are companies of this database (not customers)."""
        self._companies.ensure()
        return sorted(int(r["party"]) for r in self._companies.rows.values())

    def company_currency(self, company_id: int) -> str:
        """The ISO code of a company's currency."""
        row = self._companies.row(company_id)
        if row is None:
            raise MappingError(f"Tryton has no company {company_id}", field="currency")
        return str(row["currency."]["code"])


def _tax_info(row: Mapping[str, Any]) -> TaxInfo:
    rate = row["rate"]
    return TaxInfo(
        id=int(row["id"]),
        name=str(row["name"]),
        type=str(row["type"]),
        rate=rate if isinstance(rate, Decimal) else None,
        parent=int(row["parent"]) if row["parent"] else None,
        company=int(row["company"]) if row["company"] else None,
    )
