"""Identifiers that compare after light normalisation: emails, phones, tax ids, SKUs, GTINs."""

from __future__ import annotations

import re

from stdnum import ean
from stdnum.util import clean

from crmerp.match._text import fold

__all__ = [
    "FREEMAIL_DOMAINS",
    "email_key",
    "gtin_key",
    "phone_key",
    "sku_key",
    "tax_id_key",
    "unit_key",
]

FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.es",
        "yahoo.de", "hotmail.com", "hotmail.de", "hotmail.fr", "hotmail.es", "hotmail.co.uk",
        "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mail.com",
        "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
        "orange.fr", "free.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "proton.me",
        "protonmail.com", "qq.com", "163.com", "126.com", "sina.com", "yandex.ru", "mail.ru",
        "btinternet.com", "sky.com", "virginmedia.com", "telefonica.net", "libero.it",
    }
)  # fmt: skip
"""Mail domains shared by unrelated people: a shared domain there says nothing."""

_NON_DIGITS = re.compile(r"\D")
_COUNTRY_PREFIX = re.compile(r"^[A-Z]{2}(?=[0-9])")
_UNITS = {
    "unit": ("unit", "units", "u", "pc", "pcs", "piece", "pieces", "ea", "each", "stk",
             "stueck", "st", "pce", "c62", "nar", "unidad", "unidades", "piece s", "x"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramm", "kgm"),
    "g": ("g", "gr", "gram", "grams", "gramm", "grm"),
    "l": ("l", "lt", "ltr", "liter", "litre", "liters", "litres", "ltr"),
    "m": ("m", "meter", "metre", "meters", "metres", "mtr"),
    "hour": ("h", "hr", "hrs", "hour", "hours", "std", "stunde", "stunden", "hur", "heure"),
    "day": ("d", "day", "days", "tag", "tage", "jour", "jours", "day s"),
    "box": ("box", "boxes", "karton", "carton", "ctn", "cs", "case"),
    "pack": ("pack", "pk", "pkg", "package", "packung", "paquete"),
}  # fmt: skip
_UNIT_KEYS = {spelling: key for key, spellings in _UNITS.items() for spelling in spellings}


def email_key(email: str) -> tuple[str, str]:
    """An email address lower-cased without a ``+tag``, and its domain.

    >>> email_key("Jane.Doe+crm@Example.COM")
    ('jane.doe@example.com', 'example.com')
    """
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}@{domain}", domain


def phone_key(number: str) -> str:
    """The last nine digits of a phone number, so trunk and country prefixes agree.

    >>> phone_key("+49 30 1234567") == phone_key("030-123 4567")
    True
    """
    return _NON_DIGITS.sub("", number)[-9:]


def tax_id_key(value: str) -> str:
    """A tax id compacted with python-stdnum and without its country prefix.

    >>> tax_id_key("DE 136.695.976"), tax_id_key("136695976")
    ('136695976', '136695976')
    """
    compact = clean(value, " -./,:").upper().strip()
    return _COUNTRY_PREFIX.sub("", compact)


def sku_key(sku: str) -> str:
    """An SKU upper-cased without separators; all-digit SKUs lose leading zeros.

    >>> sku_key("ab-0012 x"), sku_key("000123")
    ('AB0012X', '123')
    """
    key = "".join(c for c in sku.upper() if c.isalnum())
    return key.lstrip("0") or key if key.isdigit() else key


def gtin_key(gtin: str) -> str | None:
    """A valid GTIN as GTIN-14 (so UPC-A and EAN-13 of one item agree), else ``None``.

    >>> gtin_key("4006381333931"), gtin_key("4006381333932")
    ('04006381333931', None)
    """
    compact = ean.compact(gtin)
    if not ean.is_valid(compact):
        return None
    return str(compact).zfill(14)


def unit_key(unit: str) -> str:
    """A unit of measure under one name: "pcs", "Stück" and "each" are all ``unit``.

    >>> unit_key("Stück"), unit_key("KG"), unit_key("pallet")
    ('unit', 'kg', 'pallet')
    """
    folded = fold(unit).rstrip(".")
    return _UNIT_KEYS.get(folded, folded)
