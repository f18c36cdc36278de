"""Company and person names reduced to what identifies them."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import attrs

from crmerp.match._legal_forms import split_legal_form
from crmerp.match._text import fold

__all__ = [
    "CompanyName",
    "NameKey",
    "company_name_key",
    "normalize_company_name",
    "normalize_person_name",
    "person_name_key",
]

# Words that carry no identity in a company name ("Smith and Sons" = "Smith & Sons").
_FILLER = frozenset({"and", "und", "et", "y", "e", "the", "der", "die", "das", "le", "la", "les"})
# Salutations, titles and degrees that come and go between systems.
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau",
        "m", "mme", "mlle", "sr", "sra", "srta", "don", "dona", "sig", "sigra", "jr",
        "sen", "dipl", "ing", "dipling", "med", "mag", "bsc", "msc", "ba", "ma", "mba",
        "phd", "md", "univ", "von", "van", "de", "del", "der", "du", "la", "le", "di",
    }
)  # fmt: skip


@attrs.frozen
class CompanyName:
    """A company name without its legal form, and the legal form's code.

    ``key`` is the folded name without legal form or filler words; ``legal_form``
    is a code from :data:`~crmerp.match.LEGAL_FORMS` or ``None``.
    """

    key: str
    legal_form: str | None


@lru_cache(maxsize=65536)
def normalize_company_name(name: str) -> CompanyName:
    """Fold a company name and split off its legal form.

    >>> normalize_company_name("Müller & Söhne G.m.b.H.")
    CompanyName(key='mueller soehne', legal_form='gmbh')
    >>> normalize_company_name("ACME LIMITED").key == normalize_company_name("Acme Ltd.").key
    True
    """
    words, form = split_legal_form(fold(name).split())
    kept = [w for w in words if w not in _FILLER] or words
    return CompanyName(" ".join(kept), form)


@lru_cache(maxsize=65536)
def normalize_person_name(name: str) -> str:
    """Fold a person's name, drop titles and particles, and sort the words.

    Sorting makes "Doe, Jane" and "Jane Doe" equal.

    >>> normalize_person_name("Dr. Hans-Jürgen Müller")
    'hans juergen mueller'
    >>> normalize_person_name("MÜLLER, Hans Jürgen")
    'hans juergen mueller'
    """
    words = fold(name).split()
    kept = [w for w in words if w not in _TITLES] or words
    return " ".join(sorted(kept))


class NameKey(NamedTuple):
    """A name as matching compares it.

    ``key`` is the normalised name (a company's without its legal form, a
    person's with sorted words), equal for spellings of one name. ``flat`` is
    the words in the order they are read, without spaces, so a lost or a stray
    space is one slip; ``turned`` is ``flat`` with the last word first, for a
    person's name written surname first without a comma.
    """

    key: str
    flat: str
    turned: str


@lru_cache(maxsize=65536)
def company_name_key(name: str) -> NameKey:
    """The :class:`NameKey` of a company's name.

    >>> company_name_key("Hrarper-Palmer Ltd")
    NameKey(key='hrarper palmer', flat='hrarperpalmer', turned='hrarperpalmer')
    """
    key = normalize_company_name(name).key
    flat = key.replace(" ", "")
    return NameKey(key, flat, flat)


@lru_cache(maxsize=65536)
def person_name_key(name: str) -> NameKey:
    """The :class:`NameKey` of a person's name; "Surname, Given" reads "Given Surname".

    >>> person_name_key("Anderson, Karen")
    NameKey(key='anderson karen', flat='karenanderson', turned='andersonkaren')
    """
    surname, comma, given = name.partition(",")
    read = f"{given} {surname}" if comma and "," not in given else name
    words = fold(read).split()
    kept = [w for w in words if w not in _TITLES] or words
    return NameKey(" ".join(sorted(kept)), "".join(kept), "".join(kept[-1:] + kept[:-1]))
