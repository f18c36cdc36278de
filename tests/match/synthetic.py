"""Synthetic CRM and ERP customers and products with known true links.

Faker supplies realistic names, streets and cities in six locales; each true
entity is then copied into one or both systems with the corruption real systems
show: typos, legal forms written out or abbreviated, street types abbreviated,
postcodes written into the city, street and city swapped, first and last name
swapped, phones in national or international format, and missing values. A few
"branch" entities share another entity's name but nothing else, so a matcher
that trusts names alone makes wrong links. Everything is seeded.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from faker import Faker
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

from crmerp.models import Customer, Product

__all__ = ["Systems", "customer_systems", "product_systems"]

LOCALES = {"de_DE": "DE", "en_GB": "GB", "en_US": "US", "fr_FR": "FR", "es_ES": "ES", "zh_CN": "CN"}
_LOCALE_WEIGHTS = [0.3, 0.2, 0.2, 0.12, 0.1, 0.08]
_CALLING = {"DE": "49", "GB": "44", "US": "1", "FR": "33", "ES": "34", "CN": "86"}
_LEGAL_VARIANTS = {
    "GmbH": ["Gesellschaft mit beschränkter Haftung", "G.m.b.H.", "GMBH"],
    "AG": ["Aktiengesellschaft", "A.G."],
    "KG": ["Kommanditgesellschaft"],
    "Ltd": ["Limited", "Ltd.", "LTD"],
    "PLC": ["plc", "Public Limited Company"],
    "LLC": ["L.L.C.", "Limited Liability Company"],
    "Inc": ["Incorporated", "Inc.", "INC"],
    "SARL": ["S.à r.l.", "Sarl"],
    "SAS": ["S.A.S."],
    "S.A.": ["SA", "Société Anonyme"],
    "S.L.": ["SL", "Sociedad Limitada"],
    "有限公司": ["有限责任公司"],
}
_STREET_VARIANTS = [
    ("straße", "str."), ("Straße", "Str."), ("strasse", "str"), ("Street", "St"),
    ("Road", "Rd"), ("Avenue", "Ave"), ("avenue", "av."), ("Drive", "Dr"), ("Lane", "Ln"),
    ("Calle", "C/"), ("Avenida", "Avda."), ("Boulevard", "Bd"), ("Court", "Ct"),
]  # fmt: skip
_FREEMAIL = ["gmail.com", "web.de", "gmx.de", "yahoo.com", "outlook.com", "orange.fr", "qq.com"]


@dataclass
class Systems:
    """Two systems' records and the true ``(crm_id, erp_id)`` links between them."""

    crm: list[Any]
    erp: list[Any]
    truth: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Pools:
    companies: list[str]
    people: list[tuple[str, str]]
    streets: list[str]
    places: list[tuple[str, str]]


def _pools(locale: str, size: int, seed: int) -> _Pools:
    # Drawn without replacement: names repeat as often as Faker repeats them.
    fake = Faker(locale)
    fake.seed_instance(seed)
    return _Pools(
        companies=[fake.company() for _ in range(size)],
        people=[(fake.first_name(), fake.last_name()) for _ in range(size)],
        streets=[fake.street_address().replace("\n", ", ") for _ in range(size)],
        places=[(fake.postcode(), fake.city()) for _ in range(size)],
    )


def _tax_id(country: str, rng: random.Random) -> str | None:
    if country == "DE":
        body = str(rng.randint(1, 9)) + "".join(rng.choices(string.digits, k=7))
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    if country == "FR":
        body = str(rng.randint(1, 9)) + "".join(rng.choices(string.digits, k=7))
        siren = body + luhn.calc_check_digit(body)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "US":
        return f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
    return None


def _phone(country: str, rng: random.Random) -> str:
    first = {"DE": "3", "GB": "20", "US": "4", "FR": "1", "ES": "9", "CN": "13"}[country]
    length = {"DE": 10, "GB": 10, "US": 10, "FR": 9, "ES": 9, "CN": 11}[country]
    return (
        "+" + _CALLING[country] + first + "".join(rng.choices(string.digits, k=length - len(first)))
    )


def _slug(text: str) -> str:
    return "".join(c for c in text.lower() if c in string.ascii_lowercase)[:20]


def _truth_entity(
    pools: dict[str, _Pools], rng: random.Random, used_domains: set[str]
) -> dict[str, Any]:
    locale = rng.choices(list(LOCALES), _LOCALE_WEIGHTS)[0]
    country, pool = LOCALES[locale], pools[locale]
    person = rng.random() < 0.15
    postcode, city = pool.places.pop()
    first, last = pool.people.pop()
    name = f"{first} {last}" if person else pool.companies.pop()
    if person:
        local = f"{_slug(first) or 'mail'}.{_slug(last) or 'box'}{rng.randint(1, 9999)}"
        emails = [f"{local}@{rng.choice(_FREEMAIL)}"]
    else:
        domain = (_slug(name) or "firm") + rng.choice([".com", ".net", "." + country.lower()])
        while domain in used_domains:
            domain = f"{_slug(name) or 'firm'}{rng.randint(1, 9999)}.{country.lower()}"
        used_domains.add(domain)
        emails = [f"{rng.choice(['info', 'sales', 'office', 'contact'])}@{domain}"]
    return {
        "kind": "person" if person else "company",
        "name": name,
        "country": country,
        "street": pool.streets.pop(),
        "postcode": postcode,
        "city": city,
        "tax_id": None if person else _tax_id(country, rng),
        "emails": emails,
        "phone": _phone(country, rng),
        "contact": None if person else f"{first} {last}",
    }


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i:]
    return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]


def _corrupt_name(entity: dict[str, Any], rng: random.Random, level: float) -> str:
    name: str = entity["name"]
    if entity["kind"] == "person":
        first, _, last = name.partition(" ")
        if rng.random() < 0.25 * level:
            name = f"{last}, {first}"
    else:
        for short, longs in _LEGAL_VARIANTS.items():
            if name.endswith(short) and rng.random() < 0.4 * level:
                name = name[: -len(short)] + rng.choice(longs)
                break
        if rng.random() < 0.05 * level:
            name = name.rsplit(" ", 1)[0] if " " in name else name
    if rng.random() < 0.12 * level:
        name = _typo(name, rng)
    if rng.random() < 0.08 * level:
        name = name.upper()
    return name


def _corrupt_address(entity: dict[str, Any], rng: random.Random, level: float) -> dict[str, str]:
    street, postcode, city = entity["street"], entity["postcode"], entity["city"]
    for long, short in _STREET_VARIANTS:
        if long in street and rng.random() < 0.5 * level:
            street = street.replace(long, short)
    if rng.random() < 0.08 * level:
        street = _typo(street, rng)
    if rng.random() < 0.1 * level:
        city, postcode = f"{postcode} {city}", ""
    elif rng.random() < 0.03 * level:
        street, city = city, street
    return {"street": street, "postcode": postcode, "city": city, "country": entity["country"]}


def _phone_written(number: str, country: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return number
    national = number[1 + len(_CALLING[country]) :]
    trunk = "" if country in {"US", "CN"} else "0"
    return f"{trunk}{national[:3]} {national[3:]}"


def _copy(entity: dict[str, Any], native_id: str, rng: random.Random, level: float) -> Customer:
    def kept(p: float) -> bool:
        return rng.random() >= p * level

    address = _corrupt_address(entity, rng, level)
    emails = [e.upper() if rng.random() < 0.1 else e for e in entity["emails"]] if kept(0.3) else []
    phones = [_phone_written(entity["phone"], entity["country"], rng)] if kept(0.3) else []
    contacts = [{"name": entity["contact"]}] if entity["contact"] and kept(0.5) else []
    return Customer(
        id=native_id,
        kind=entity["kind"],
        name=_corrupt_name(entity, rng, level),
        addresses=[address] if kept(0.05) else [],
        tax_id=entity["tax_id"] if kept(0.3) else None,
        emails=emails,
        phones=phones,
        contacts=contacts,
    )


def _moved(entity: dict[str, Any], other: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    # A new address and phone (another entity's, of the same country, shifted).
    moved = {k: other[k] for k in ("street", "postcode", "city")}
    return {**entity, **moved, "phone": _phone(entity["country"], rng)}


def customer_systems(
    size: int, seed: int = 0, overlap: float = 0.7, corruption: float = 1.0
) -> Systems:
    """Two systems of ``size`` customers each; ``overlap`` of them are in both.

    ``corruption`` scales every kind of damage (0 gives clean copies).
    """
    rng = random.Random(seed)
    shared = round(size * overlap)
    wanted = {
        loc: round((2 * size - shared) * w * 1.3) + 20
        for loc, w in zip(LOCALES, _LOCALE_WEIGHTS, strict=True)
    }
    pools = {loc: _pools(loc, n, seed) for loc, n in wanted.items()}
    used: set[str] = set()
    entities = [_truth_entity(pools, rng, used) for _ in range(2 * size - shared)]
    for i in range(0, len(entities), 50):  # branches: another's name, nothing else
        j = rng.randrange(len(entities))
        if entities[j]["kind"] == "company" and i != j:
            entities[i] = {**entities[i], "name": entities[j]["name"], "kind": "company"}
    crm_entities = list(range(size))
    erp_entities = list(range(shared)) + list(range(size, 2 * size - shared))
    rng.shuffle(crm_entities)
    rng.shuffle(erp_entities)
    systems = Systems(crm=[], erp=[])
    erp_ids = {e: f"e{k}" for k, e in enumerate(erp_entities)}
    for k, e in enumerate(crm_entities):
        systems.crm.append(_copy(entities[e], f"c{k}", rng, corruption))
        if e in erp_ids:
            systems.truth.add((f"c{k}", erp_ids[e]))
    for e in erp_entities:
        entity = entities[e]
        if e < shared and rng.random() < 0.03 * corruption:
            entity = _moved(entity, entities[rng.randrange(len(entities))], rng)
        systems.erp.append(_copy(entity, erp_ids[e], rng, corruption))
    return systems


def product_systems(size: int, seed: int = 0, overlap: float = 0.7) -> Systems:
    """Two product catalogues: SKUs formatted differently, GTINs on some, names reworded."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    shared = round(size * overlap)
    total = 2 * size - shared
    nouns = ["Cable", "Adapter", "Bracket", "Valve", "Sensor", "Pump", "Filter", "Bolt", "Panel"]
    items = []
    for k in range(total):
        sku = f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-{k:05d}"
        gtin_body = "40" + "".join(rng.choices(string.digits, k=10))
        gtin = gtin_body + _ean_check(gtin_body)
        size_text = f"{rng.randint(1, 500)} {rng.choice(['mm', 'cm', 'm'])}"
        name = f"{fake.color_name()} {rng.choice(nouns)} {size_text}"
        unit = rng.choice(["pcs", "kg", "m", "box"])
        items.append((sku, gtin, name, unit))
    systems = Systems(crm=[], erp=[])
    for k in range(size):
        sku, gtin, name, unit = items[k]
        systems.crm.append(
            Product(
                id=f"c{k}", sku=sku, name=name, unit=unit, gtin=gtin if rng.random() < 0.6 else None
            )
        )
    erp_order = list(range(shared)) + list(range(size, total))
    rng.shuffle(erp_order)
    for n, k in enumerate(erp_order):
        sku, gtin, name, unit = items[k]
        words = name.split()
        if rng.random() < 0.3:
            words = [words[1], words[0], *words[2:]]
        erp_unit = {"pcs": "Stück", "kg": "KG", "m": "meter", "box": "Karton"}[unit]
        systems.erp.append(
            Product(
                id=f"e{n}",
                sku=sku.replace("-", "").lower() if rng.random() < 0.5 else sku,
                name=" ".join(words).upper() if rng.random() < 0.2 else " ".join(words),
                unit=erp_unit,
                gtin=gtin if rng.random() < 0.6 else None,
            )
        )
        if k < shared:
            systems.truth.add((f"c{k}", f"e{n}"))
    return systems


def _ean_check(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return str((10 - total % 10) % 10)
