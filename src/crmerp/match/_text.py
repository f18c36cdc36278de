"""Folding free text into comparable tokens: case, accents, punctuation."""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

__all__ = ["fold", "tokens"]

# German umlauts are written out the way Germans type them without the key, so
# "Müller" and "Mueller" fold alike; other accents are dropped after NFKD.
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "o"})
# Dots inside abbreviations join their letters ("S.A." -> "sa"); apostrophes vanish.
_JOINING = re.compile("[.'`\u2019\u00b4]")
_SEPARATORS = re.compile(r"[^\w]+|_")
# The same for plain ASCII text, in one pass over its bytes.
_ASCII_JOINING = b".'`"
_ASCII_SEPARATORS = bytes(c for c in range(128) if not chr(c).isalnum() and chr(c) not in ".'`")
_ASCII = bytes.maketrans(
    string.ascii_uppercase.encode() + _ASCII_SEPARATORS,
    string.ascii_lowercase.encode() + b" " * len(_ASCII_SEPARATORS),
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ``text``, spell out umlauts, drop accents and punctuation.

    Dots and apostrophes join what they separate; other punctuation becomes a space.

    >>> fold("  Müller & Söhne G.m.b.H. ")
    'mueller soehne gmbh'
    """
    if text.isascii():
        return " ".join(text.encode().translate(_ASCII, _ASCII_JOINING).decode().split())
    lowered = text.casefold().translate(_SPELLED_OUT)
    decomposed = unicodedata.normalize("NFKD", lowered.replace("&", " "))
    lowered = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", _JOINING.sub("", lowered)).split())


def tokens(text: str) -> list[str]:
    """The words of ``fold(text)``.

    >>> tokens("Rue de l'Église, 5")
    ['rue', 'de', 'leglise', '5']
    """
    return fold(text).split()
