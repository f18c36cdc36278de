"""The demo company: a coffee-equipment supplier whose CRM and ERP drifted apart.

"Kaffeewerk Nord" sells espresso machines, grinders, coffee, water filters and
service contracts to cafés, hotels, bakeries and offices in Germany, Austria and
Switzerland. Sales works in the CRM, accounting in the ERP. Both keep customers:
most are in both systems, typed in twice with small differences (a missing tax
id, another email, a shortened name); some exist only on one side. The ERP owns
the catalogue and the price lists; the CRM holds an old import of part of the
catalogue, the sales pipeline (quotes) and its accounts.

Everything is drawn from one ``random.Random(seed)``: the same seed gives the
same company. Records are written through each fake system's front door, in its
own native shape (the adapters' mappings translate canonical records).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
from stdnum import ean
from stdnum.at import uid as at_uid
from stdnum.iso7064 import mod_11_10

from crmerp.adapters import Adapter, NativeRecord
from crmerp.models import (
    Address,
    CanonicalModel,
    ContactPerson,
    Customer,
    Invoice,
    LineItem,
    Money,
    Order,
    PriceList,
    PriceListItem,
    Product,
    Quote,
)
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

__all__ = ["Company", "DayTwo", "SeedCounts", "day_two", "seed"]

_FIRST = (
    "Anna",
    "Jonas",
    "Lea",
    "Felix",
    "Marie",
    "Lukas",
    "Sophie",
    "Paul",
    "Laura",
    "Elias",
    "Hannah",
    "Noah",
    "Emma",
    "Leon",
    "Mia",
    "Finn",
    "Clara",
    "Moritz",
    "Greta",
    "Timo",
)
_LAST = (
    "Huber",
    "Schmidt",
    "Wagner",
    "Becker",
    "Hofmann",
    "Keller",
    "Brunner",
    "Graf",
    "Vogel",
    "Lang",
    "Winkler",
    "Berger",
    "Frei",
    "Roth",
    "Meier",
    "Fuchs",
    "Kaiser",
    "Lehmann",
    "Steiner",
    "Baumann",
    "Koch",
    "Richter",
    "Wolf",
    "Schuster",
    "Moser",
    "Gasser",
)
_KINDS = (
    ("Café", "GmbH"),
    ("Bäckerei", "GmbH"),
    ("Hotel", "AG"),
    ("Konditorei", "KG"),
    ("Restaurant", "GmbH"),
    ("Rösterei", "GmbH & Co. KG"),
    ("Kantine", "GmbH"),
    ("Bistro", "OG"),
    ("Büroservice", "GmbH"),
    ("Catering", "GmbH"),
)
_TOWNS = {
    "DE": (
        ("Hamburg", "20095", "+4940"),
        ("Berlin", "10115", "+4930"),
        ("München", "80331", "+4989"),
        ("Köln", "50667", "+49221"),
        ("Leipzig", "04109", "+49341"),
        ("Bremen", "28195", "+49421"),
        ("Hannover", "30159", "+49511"),
        ("Freiburg", "79098", "+49761"),
    ),
    "AT": (
        ("Wien", "1010", "+431"),
        ("Graz", "8010", "+43316"),
        ("Salzburg", "5020", "+43662"),
        ("Linz", "4020", "+43732"),
    ),
    "CH": (("Zürich", "8001", "+4144"), ("Basel", "4051", "+4161"), ("Bern", "3011", "+4131")),
}
_STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Marktplatz",
    "Lindenweg",
    "Schillerstraße",
    "Gartenweg",
    "Mühlgasse",
    "Kirchplatz",
    "Seestraße",
    "Rosengasse",
)
_CATALOGUE = (
    # sku stem, name, unit, kind, list price (EUR)
    ("ESP", "Espresso machine {}", "unit", "goods", "4890.00"),
    ("GRD", "Coffee grinder {}", "unit", "goods", "1290.00"),
    ("FLT", "Water filter cartridge {}", "unit", "goods", "89.50"),
    ("BNS", "Coffee beans, {} blend, 1 kg", "kg", "goods", "24.90"),
    ("MLK", "Milk cooler {}", "unit", "goods", "640.00"),
    ("SRV", "Service contract {}, per year", "unit", "service", "480.00"),
    ("TRN", "Barista training, {}", "h", "service", "95.00"),
)
_VARIANTS = ("Classic", "Compact", "Pro", "Duo", "Urban", "Alpine")
_TERMS = ("net 30", "net 14", "net 60")


@attrs.define
class SeedCounts:
    """How many records of each entity were written to each system."""

    crm: dict[str, int] = attrs.Factory(dict)
    erp: dict[str, int] = attrs.Factory(dict)
    in_both: int = 0

    def add(self, side: str, entity: str, count: int = 1) -> None:
        """Count ``count`` records of ``entity`` written to ``side``."""
        counts = self.crm if side == "crm" else self.erp
        counts[entity] = counts.get(entity, 0) + count


@attrs.define
class _Person:
    company: str
    kind: str
    country: str
    town: tuple[str, str, str]
    street: str
    contact: str
    domain: str
    phone_tail: str
    tax_id: str | None
    currency: str


@attrs.define
class Company:
    """The demo company across its two systems, with the native ids of what was written."""

    crm: FakeCRM
    erp: FakeERP
    random: random.Random
    counts: SeedCounts = attrs.Factory(SeedCounts)
    crm_customers: list[str] = attrs.Factory(list)
    erp_customers: list[str] = attrs.Factory(list)
    pairs: list[tuple[str, str]] = attrs.Factory(list)
    crm_products: dict[str, str] = attrs.Factory(dict)
    erp_products: dict[str, str] = attrs.Factory(dict)
    prices: dict[str, Decimal] = attrs.Factory(dict)
    quotes: list[str] = attrs.Factory(list)
    orders: list[str] = attrs.Factory(list)

    @property
    def crm_adapter(self) -> FakeCRMAdapter:
        """An adapter over the CRM, used for its mapping only."""
        return FakeCRMAdapter(self.crm)

    @property
    def erp_adapter(self) -> FakeERPAdapter:
        """An adapter over the ERP, used for its mapping only."""
        return FakeERPAdapter(self.erp)


def seed(crm: FakeCRM, erp: FakeERP, *, customers: int = 300, seed: int = 7) -> Company:
    """Fill both systems with the demo company; ``customers`` is the ERP's count."""
    company = Company(crm, erp, random.Random(seed))
    _catalogue(company)
    _customers(company, customers)
    _pipeline(company)
    _history(company)
    return company


# --- writing through the front door ---------------------------------------------------------


def _write(company: Company, side: str, entity: str, record: CanonicalModel) -> str:
    adapter: Adapter = company.crm_adapter if side == "crm" else company.erp_adapter
    system = company.crm if side == "crm" else company.erp
    payload = adapter.to_native(entity, record)
    native_id = system.create(system.TABLES[entity], payload)
    company.counts.add(side, entity)
    return str(native_id)


def _edit(company: Company, side: str, entity: str, native_id: str, **changes: Any) -> None:
    """Change canonical fields of a record as a user of that system would."""
    adapter: Adapter = company.crm_adapter if side == "crm" else company.erp_adapter
    system = company.crm if side == "crm" else company.erp
    table = system.TABLES[entity]
    current = system.read(table, native_id)
    assert current is not None, f"{side} {entity} {native_id} vanished"
    model = adapter.to_canonical(entity, NativeRecord(native_id, current))
    changed = type(model).model_validate({**model.model_dump(), **changes})
    payload = adapter.to_native(entity, changed)
    system.edit(table, native_id, payload)


# --- catalogue -----------------------------------------------------------------------------


def _gtin(number: int) -> str:
    body = f"400{number:09d}"
    return body + ean.calc_check_digit(body)


def _catalogue(company: Company) -> None:
    rnd = company.random
    number = 0
    for stem, name, unit, kind, price in _CATALOGUE:
        for variant in _VARIANTS[: rnd.randint(4, 6)]:
            number += 1
            sku = f"{stem}-{number:03d}"
            product = Product(
                sku=sku,
                name=name.format(variant),
                unit=unit,
                kind=kind,
                gtin=_gtin(number) if kind == "goods" else None,
            )
            company.erp_products[sku] = _write(company, "erp", "product", product)
            step = Decimal(rnd.choice((0, 5, 10, 15, 25))) / 100
            company.prices[sku] = (Decimal(price) * (1 + step)).quantize(Decimal("0.01"))
            if number % 4 != 0:  # the CRM holds an old import of three in four products
                old = product.model_copy(
                    update={
                        "name": product.name if number % 7 else product.name.upper(),
                        "gtin": None,
                    }
                )
                company.crm_products[sku] = _write(company, "crm", "product", old)
    _price_lists(company)


def _price_lists(company: Company) -> None:
    ids = company.erp_products
    standard = [
        PriceListItem(product_id=ids[sku], unit_price=Money(price, "EUR"))
        for sku, price in company.prices.items()
    ]
    wholesale = []
    for sku, price in company.prices.items():
        wholesale.append(
            PriceListItem(
                product_id=ids[sku],
                unit_price=Money(price, "EUR"),
                min_quantity=10,
                discount_percent="5",
            )
        )
        wholesale.append(
            PriceListItem(
                product_id=ids[sku],
                unit_price=Money(price, "EUR"),
                min_quantity=50,
                discount_percent="12.5",
            )
        )
    swiss = [
        PriceListItem(
            product_id=ids[sku],
            unit_price=Money((price * Decimal("0.97")).quantize(Decimal("0.05")), "CHF"),
        )
        for sku, price in company.prices.items()
    ]
    year = date(2024, 1, 1)
    for name, currency, items in (
        ("Standard 2024", "EUR", standard),
        ("Wholesale 2024 (quantity breaks)", "EUR", wholesale),
        ("Schweiz 2024", "CHF", swiss),
    ):
        _write(
            company,
            "erp",
            "price_list",
            PriceList(
                name=name,
                currency=currency,
                items=items,
                valid_from=year,
                valid_to=date(2024, 12, 31),
            ),
        )


# --- customers ------------------------------------------------------------------------------


def _de_vat(rnd: random.Random) -> str:
    body = str(rnd.randint(10_000_000, 99_999_999))
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


def _at_vat(rnd: random.Random) -> str:
    body = f"U{rnd.randint(1_000_000, 9_999_999)}"
    return f"AT{body}{at_uid.calc_check_digit(body)}"


def _person(rnd: random.Random, index: int) -> _Person:
    country = rnd.choices(("DE", "AT", "CH"), weights=(6, 3, 2))[0]
    town = rnd.choice(_TOWNS[country])
    kind, legal = rnd.choice(_KINDS)
    last = rnd.choice(_LAST)
    core = f"{last}" if index % 3 else f"{rnd.choice(_LAST)} & {last}"
    company = f"{kind} {core} {town[0]} {legal}" if index % 5 == 0 else f"{kind} {core} {legal}"
    slug = "".join(ch for ch in f"{kind}{core}{index}".lower() if ch.isascii() and ch.isalnum())
    tax = {"DE": _de_vat, "AT": _at_vat}.get(country)
    return _Person(
        company=company,
        kind=kind,
        country=country,
        town=town,
        street=rnd.choice(_STREETS),
        contact=f"{rnd.choice(_FIRST)} {last}",
        domain=f"{slug}.example",
        phone_tail=str(rnd.randint(100000, 999999)),
        tax_id=tax(rnd) if tax else None,
        currency="CHF" if country == "CH" else "EUR",
    )


def _address(person: _Person, kind: str, number: int) -> Address:
    city, postcode, _prefix = person.town
    return Address(
        kind=kind,
        street=f"{person.street} {number}",
        city=city,
        postcode=postcode,
        country=person.country,
    )


def _erp_customer(person: _Person, rnd: random.Random) -> Customer:
    number = rnd.randint(1, 90)
    return Customer(
        name=person.company,
        addresses=[_address(person, "billing", number)],
        tax_id=person.tax_id,
        emails=[f"buchhaltung@{person.domain}", f"info@{person.domain}"],
        phones=[f"{person.town[2]}{person.phone_tail}"],
        contacts=[ContactPerson(name=person.contact, role="Inhaber")],
        credit_limit=Money(Decimal(rnd.choice((2000, 5000, 10000, 25000))), person.currency),
        payment_terms=rnd.choice(_TERMS),
        currency=person.currency,
    )


def _crm_customer(person: _Person, rnd: random.Random, erp: Customer | None) -> Customer:
    first = person.contact.split()[0].lower()
    phone = (
        f"0{person.town[2][3:]} {person.phone_tail}"
        if person.country == "DE"
        else (f"{person.town[2]}{person.phone_tail}")
    )
    address = (
        erp.addresses[0] if erp is not None else _address(person, "billing", rnd.randint(1, 90))
    )
    return Customer(
        name=person.company,
        addresses=[address, Address.model_validate({**address.model_dump(), "kind": "shipping"})],
        tax_id=None,  # sales rarely types the VAT number
        emails=[
            f"info@{person.domain}"
            if erp is not None and rnd.random() < 0.8
            else f"{first}@{person.domain}"
        ],
        phones=[phone],
        contacts=[
            ContactPerson(name=person.contact, role="Inhaber", email=f"{first}@{person.domain}")
        ],
        currency=person.currency,
        payment_terms=erp.payment_terms if erp is not None else None,
    )


def _customers(company: Company, count: int) -> None:
    """``count`` ERP customers; four in five also in the CRM; one in six only in the CRM."""
    rnd = company.random
    for index in range(count):
        person = _person(rnd, index)
        erp_record = _erp_customer(person, rnd)
        erp_id = _write(company, "erp", "customer", erp_record)
        company.erp_customers.append(erp_id)
        if rnd.random() < 0.8:
            crm_id = _write(company, "crm", "customer", _crm_customer(person, rnd, erp_record))
            company.crm_customers.append(crm_id)
            company.pairs.append((crm_id, erp_id))
    for index in range(count, count + count // 6):
        person = _person(rnd, index)
        company.crm_customers.append(
            _write(company, "crm", "customer", _crm_customer(person, rnd, None))
        )
    company.counts.in_both = len(company.pairs)


# --- quotes, orders, invoices --------------------------------------------------------------


def _lines(company: Company, products: dict[str, str], currency: str, count: int) -> list[LineItem]:
    rnd = company.random
    chosen = rnd.sample(sorted(products), count)
    rate = Decimal("7.7") if currency == "CHF" else Decimal(19)
    return [
        LineItem(
            product_id=products[sku],
            description="",
            quantity=Decimal(rnd.randint(1, 12)),
            unit_price=Money(
                company.prices[sku]
                if currency == "EUR"
                else (company.prices[sku] * Decimal("0.97")).quantize(Decimal("0.05")),
                currency,
            ),
            discount_percent=Decimal(rnd.choice((0, 0, 5, 10))),
            tax_rate=rate,
        )
        for sku in chosen
    ]


def _currency(company: Company, side: str, native_id: str) -> str:
    system = company.crm if side == "crm" else company.erp
    adapter: Adapter = company.crm_adapter if side == "crm" else company.erp_adapter
    raw = system.read(system.TABLES["customer"], native_id)
    assert raw is not None
    customer = adapter.to_canonical("customer", NativeRecord(native_id, raw))
    return getattr(customer, "currency", None) or "EUR"


def _pipeline(company: Company) -> None:
    """Quotes in the CRM's sales pipeline, on the products the CRM knows."""
    rnd = company.random
    for number in range(1, 41):
        account = rnd.choice(company.crm_customers)
        currency = _currency(company, "crm", account)
        status = rnd.choices(("draft", "sent", "rejected"), weights=(3, 5, 1))[0]
        quote = Quote(
            number=f"Q-24{number:04d}",
            customer_id=account,
            currency=currency,
            status=status,
            valid_until=date(2024, 3, 31),
            lines=_lines(company, company.crm_products, currency, rnd.randint(1, 4)),
        )
        company.quotes.append(_write(company, "crm", "quote", quote))


def _history(company: Company) -> None:
    """Orders and invoices the ERP booked before the CRM was connected."""
    rnd = company.random
    start = date(2023, 9, 1)
    for number in range(1, 61):
        party = rnd.choice(company.erp_customers)
        currency = _currency(company, "erp", party)
        status = rnd.choices(("confirmed", "fulfilled", "invoiced"), weights=(2, 2, 5))[0]
        day = start + timedelta(days=rnd.randint(0, 120))
        lines = _lines(company, company.erp_products, currency, rnd.randint(1, 5))
        order = Order(
            number=f"SO-{number:05d}",
            customer_id=party,
            currency=currency,
            status=status,
            ordered_on=day,
            lines=lines,
            payment_terms="net 30",
        )
        order_id = _write(company, "erp", "order", order)
        company.orders.append(order_id)
        if status == "invoiced":
            invoice = Invoice(
                number=f"INV-{number:05d}",
                customer_id=party,
                currency=currency,
                status=rnd.choice(("posted", "paid", "paid")),
                order_id=order_id,
                issued_on=day + timedelta(days=7),
                due_on=day + timedelta(days=37),
                lines=lines,
                payment_terms="net 30",
            )
            _write(company, "erp", "invoice", invoice)


# --- the next day: people edit both systems -----------------------------------------------


@attrs.define
class DayTwo:
    """What people changed in each system after the first sync, in words."""

    crm: list[str] = attrs.Factory(list)
    erp: list[str] = attrs.Factory(list)
    both: list[str] = attrs.Factory(list)


def _linked_pairs(company: Company, links: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` (crm id, erp id) pairs of customers the first sync linked."""
    bad = company.crm_customers[-1]  # kept for the quarantine example
    pairs = sorted((crm_id, erp_id) for crm_id, erp_id in links.items() if crm_id != bad)
    return company.random.sample(pairs, min(count, len(pairs)))


def day_two(company: Company, links: dict[str, str]) -> DayTwo:
    """Edits on both sides after the first sync; ``links`` maps CRM to ERP customer ids."""
    rnd = company.random
    told = DayTwo()
    chosen = _linked_pairs(company, links, 16)
    crm_only, erp_only, both_name, both_email, both_terms = (
        chosen[:5],
        chosen[5:10],
        chosen[10:12],
        chosen[12:14],
        chosen[14:16],
    )
    for crm_id, _erp in crm_only:
        _edit(company, "crm", "customer", crm_id, phones=[f"+4930{rnd.randint(1000000, 9999999)}"])
    told.crm.append(f"sales updated the phone number of {len(crm_only)} customers")
    for _crm, erp_id in erp_only:
        limit = Money(Decimal(rnd.choice((30000, 40000, 50000))), _currency(company, "erp", erp_id))
        _edit(company, "erp", "customer", erp_id, credit_limit=limit)
    told.erp.append(f"accounting raised the credit limit of {len(erp_only)} customers")
    for crm_id, erp_id in both_name:
        _edit(
            company, "crm", "customer", crm_id, name=_renamed(company, "crm", crm_id, " (Zentrale)")
        )
        _edit(company, "erp", "customer", erp_id, name=_renamed(company, "erp", erp_id, " Holding"))
    told.both.append(f"both renamed the same {len(both_name)} customers, differently")
    for crm_id, erp_id in both_email:
        _edit(company, "crm", "customer", crm_id, emails=[f"orders@{crm_id.lower()}.example"])
        _edit(company, "erp", "customer", erp_id, emails=[f"ap@{erp_id}.example"])
    told.both.append(f"both changed the email of the same {len(both_email)} customers")
    for crm_id, erp_id in both_terms:
        _edit(company, "crm", "customer", crm_id, payment_terms="net 10")
        _edit(company, "erp", "customer", erp_id, payment_terms="net 45")
    told.both.append(f"both changed the payment terms of the same {len(both_terms)} customers")
    _accept_quotes(company, told)
    _ship_and_bill(company, told)
    _bad_record(company, told)
    return told


def _renamed(company: Company, side: str, native_id: str, suffix: str) -> str:
    system = company.crm if side == "crm" else company.erp
    adapter: Adapter = company.crm_adapter if side == "crm" else company.erp_adapter
    raw = system.read(system.TABLES["customer"], native_id)
    assert raw is not None
    customer = adapter.to_canonical("customer", NativeRecord(native_id, raw))
    return f"{getattr(customer, 'name', '')}{suffix}"


def _accept_quotes(company: Company, told: DayTwo) -> None:
    sent = [q for q in company.quotes if _quote_status(company, q) == "sent"][:3]
    for quote_id in sent:
        _edit(company, "crm", "quote", quote_id, status="accepted")
    told.crm.append(f"sales marked {len(sent)} quotes as accepted (they become orders)")


def _quote_status(company: Company, native_id: str) -> str:
    raw = company.crm.read(company.crm.TABLES["quote"], native_id)
    assert raw is not None
    quote = company.crm_adapter.to_canonical("quote", NativeRecord(native_id, raw))
    return str(getattr(quote, "status", ""))


def _ship_and_bill(company: Company, told: DayTwo) -> None:
    adapter = company.erp_adapter
    table = company.erp.TABLES["order"]
    shipped = 0
    for order_id in company.orders:
        raw = company.erp.read(table, order_id)
        assert raw is not None
        order = adapter.to_canonical("order", NativeRecord(order_id, raw))
        if str(getattr(order, "status", "")) == "confirmed" and shipped < 4:
            _edit(company, "erp", "order", order_id, status="fulfilled")
            shipped += 1
    told.erp.append(f"the warehouse shipped {shipped} orders")
    _edit_price_list(company)
    told.erp.append("purchasing cut the wholesale discount for 50+ units to 10 %")


def _edit_price_list(company: Company) -> None:
    table = company.erp.TABLES["price_list"]
    for row in company.erp.find(table):
        if str(row.get("name", "")).startswith("Wholesale"):
            native_id = str(row["id"])
            model = company.erp_adapter.to_canonical("price_list", NativeRecord(native_id, row))
            items = [
                item.model_copy(update={"discount_percent": Decimal(10)})
                if item.min_quantity == 50
                else item
                for item in getattr(model, "items", [])
            ]
            _edit(company, "erp", "price_list", native_id, items=items)


def _bad_record(company: Company, told: DayTwo) -> None:
    """A CRM account whose email someone typed wrong, stored without the form's checks."""
    table = company.crm.TABLES["customer"]
    native_id = company.crm_customers[-1]
    raw = company.crm.read(table, native_id)
    assert raw is not None
    values = {k: v for k, v in raw.items() if k not in company.crm.SYSTEM_FIELDS}
    values["Email__c"] = "orders(at)kaffee-example"
    company.crm.store_raw(table, values, id=native_id)
    told.crm.append("an import wrote an account with the email 'orders(at)kaffee-example'")
