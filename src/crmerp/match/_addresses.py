"""Postal addresses reduced to comparable parts: street, house number, postcode, city."""

from __future__ import annotations

import re
from functools import lru_cache

import attrs

from crmerp.match._text import fold

__all__ = ["AddressKey", "normalize_address", "normalize_postcode", "normalize_street"]

# Abbreviations of street types in the languages the models meet most, folded.
_STREET_WORDS = {
    "str": "strasse", "strase": "strasse", "st": "street", "rd": "road", "ave": "avenue",
    "av": "avenue", "avda": "avenida", "blvd": "boulevard", "bd": "boulevard",
    "bvd": "boulevard", "dr": "drive", "ln": "lane", "ct": "court", "pl": "place",
    "sq": "square", "hwy": "highway", "pkwy": "parkway", "cres": "crescent",
    "tce": "terrace", "terr": "terrace", "cl": "close", "mt": "mount", "c": "calle",
    "cl.": "calle", "ctra": "carretera", "pza": "plaza", "pso": "paseo", "ch": "chemin",
    "imp": "impasse", "rte": "route", "all": "allee", "pl.": "platz", "gr": "grand",
}  # fmt: skip
# Words that introduce a flat or suite: they and their number are not the street.
_UNIT_WORDS = frozenset(
    {"apt", "apartment", "suite", "ste", "flat", "unit", "floor", "fl", "piso", "etage", "og"}
)
_NUMBER = re.compile(r"^\d+[a-z]?$|^\d+[a-z]?(?:/\d+[a-z]?)$")
_POSTCODE_IN_TEXT = re.compile(r"\b(\d{4,6}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NO_DIGITS = str.maketrans("", "", "0123456789")
_HAS_DIGIT = re.compile(r"\d")


@attrs.frozen
class AddressKey:
    """The parts of an address that identify it, each folded; empty when unknown."""

    street: str
    number: str
    postcode: str
    city: str
    country: str

    def is_empty(self) -> bool:
        """True when nothing but perhaps the country is known."""
        return not (self.street or self.postcode or self.city)


def normalize_postcode(value: str) -> str:
    """Upper-case a postcode without spaces or dashes; a ZIP+4 keeps its ZIP.

    >>> normalize_postcode("sw1a 1aa"), normalize_postcode("12345-6789")
    ('SW1A1AA', '12345')
    """
    code = _NOT_ALNUM.sub("", value.upper())
    if len(code) == 9 and code.isdigit():
        return code[:5]
    return code


@lru_cache(maxsize=65536)
def normalize_street(street: str) -> tuple[str, str]:
    """Split a street line into a folded street name and a house number.

    Street types are written out, the name is joined without spaces (so
    "Haupt Str." equals "Hauptstraße"), flats and suites are dropped, and the
    number may stand before or after the name. A line whose only number is a
    flat's (as British addresses often are) keeps the flat's number as the
    house number: it is what tells the premises apart.

    >>> normalize_street("Hauptstr. 12a")
    ('hauptstrasse', '12a')
    >>> normalize_street("12 Main St, Suite 300") == normalize_street("12 Main Street")
    True
    >>> normalize_street("Flat 64p, Cook Parks")
    ('cookparks', '64p')
    """
    words = fold(street.replace("/", " / ")).split()
    name: list[str] = []
    number = unit = ""
    in_unit = False
    for word in words:
        if in_unit or word == "/":
            in_unit = word == "/"
            if not unit and word[0].isdigit():
                unit = word.rstrip(",.")
            continue
        if word in _UNIT_WORDS:
            in_unit = True
        elif word[0].isdigit() and _NUMBER.match(word):
            number = number or word
        else:
            name.append(_street_word(word))
    return "".join(name), number or unit


def _street_word(word: str) -> str:
    if word in _STREET_WORDS:
        return _STREET_WORDS[word]
    if word.endswith("str") and len(word) > 5:
        return word + "asse"
    return word


def normalize_address(
    street: str, postcode: str, city: str, country: str | None = None
) -> AddressKey:
    """Normalise the parts of an address, finding a postcode written into the city.

    A street line written as the city (it has a number, the street field none)
    is put back.

    >>> normalize_address("Hauptstraße 5", "", "10115 Berlin", "DE")
    AddressKey(street='hauptstrasse', number='5', postcode='10115', city='berlin', country='DE')
    >>> normalize_address("Berlin", "10115", "Hauptstraße 5") == normalize_address(
    ...     "Hauptstraße 5", "10115", "Berlin")
    True
    """
    if not postcode:
        found = _POSTCODE_IN_TEXT.search(city.upper())
        if found:
            postcode = found.group(1)
            city = city[: found.start()] + city[found.end() :]
    if street and _HAS_DIGIT.search(city) and not _HAS_DIGIT.search(street):
        street, city = city, street
    name, number = normalize_street(street)
    city_key = fold(city)
    if city_key.isascii():
        city_key = city_key.translate(_NO_DIGITS).strip()
    else:
        city_key = "".join(c for c in city_key if not c.isdigit()).strip()
    return AddressKey(name, number, normalize_postcode(postcode), city_key, country or "")
