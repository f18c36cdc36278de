"""Normalisers for contact data, each backed by a maintained library.

Hot paths take a cheap exact check first and fall back to the full library for
anything the check does not settle, so correctness never depends on the fast path.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from stdnum import ean
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

from crmerp._errors import DataError

__all__ = [
    "normalize_country",
    "normalize_email",
    "normalize_gtin",
    "normalize_phone",
    "normalize_tax_id",
]

# Plain ASCII addresses whose local part and domain need no IDNA or quoting; for
# these email-validator's normalisation is just lower-casing the domain.
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
_EU_VAT_PREFIXES = frozenset(eu_vat.MEMBER_STATES) | {"el", "xi"}


def normalize_email(value: str) -> str:
    """Return the normalised form of an email address or raise ``DataError``.

    >>> normalize_email("Jane.Doe@Example.COM")
    'Jane.Doe@example.com'
    """
    text = value.strip()
    if len(text) <= 254 and _PLAIN_EMAIL.match(text):
        local, _, domain = text.rpartition("@")
        if len(local) <= 64:
            return f"{local}@{domain.lower()}"
    return _validated_email(text)


@lru_cache(maxsize=4096)
def _validated_email(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DataError(f"invalid email address: {exc}", field="emails", value=text) from None


def normalize_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for ``value`` (a code or a country name).

    >>> normalize_country("de"), normalize_country("Germany")
    ('DE', 'DE')
    """
    code = value.strip().upper()
    if code in _COUNTRIES:
        return code
    return _country_by_name(value.strip())


@lru_cache(maxsize=1024)
def _country_by_name(name: str) -> str:
    try:
        found = pycountry.countries.lookup(name)
    except LookupError:
        raise DataError(f"unknown country {name!r}", field="country", value=name) from None
    return str(found.alpha_2)


def normalize_phone(value: str, region: str | None = None) -> tuple[str, bool]:
    """Parse a phone number to E.164; return ``(number, is_e164)``.

    A number that cannot be parsed is kept as given, stripped, with ``False``.

    >>> normalize_phone("030 1234567", "DE")
    ('+49301234567', True)
    >>> normalize_phone("ask reception")
    ('ask reception', False)
    """
    text = value.strip()
    if _E164.match(text):
        return text, True
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text, False
    if not phonenumbers.is_possible_number(parsed):
        return text, False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), True


@lru_cache(maxsize=8192)
def normalize_tax_id(value: str, country: str | None) -> str:
    """Validate a tax id with python-stdnum and return its compact form.

    An EU VAT number with its country prefix is checked as such; otherwise the
    VAT module of ``country`` is used where python-stdnum has one. Where no format
    is known the id is kept, compacted of spaces and dots.

    >>> normalize_tax_id("DE 136,695 976".replace(",", ""), None)
    'DE136695976'
    """
    text = value.strip()
    prefix = text[:2].lower()
    try:
        if prefix in _EU_VAT_PREFIXES and text[:2].isalpha():
            return str(eu_vat.validate(text))
        module = _vat_module(country.lower()) if country else None
        if module is not None:
            return str(module.validate(text))
    except StdnumError as exc:
        raise DataError(
            f"invalid tax id for {country or prefix.upper()}: {exc}", field="tax_id", value=value
        ) from None
    return re.sub(r"[\s.]", "", text)


@cache
def _vat_module(country: str) -> Any:
    try:
        module = get_cc_module(country, "vat")
    except Exception:  # python-stdnum raises several kinds for unknown countries
        return None
    return module if module is not None and hasattr(module, "validate") else None


def normalize_gtin(value: str) -> str:
    """Validate a GTIN (EAN-8/12/13/14) check digit and return it compact.

    >>> normalize_gtin("4006381333931")
    '4006381333931'
    """
    try:
        return str(ean.validate(value))
    except StdnumError as exc:
        raise DataError(f"invalid GTIN: {exc}", field="gtin", value=value) from None
