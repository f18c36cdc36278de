"""Legal forms of companies and their spellings, so names compare without them.

Each canonical code lists the ways it is written; the spellings are folded with
:func:`~crmerp.match._text.fold` when the table is built, so "G.m.b.H.",
"GmbH" and "Gesellschaft mit beschränkter Haftung" all become ``gmbh``.
"""

from __future__ import annotations

from rapidfuzz.distance import DamerauLevenshtein

from crmerp.match._text import fold

__all__ = ["LEGAL_FORMS", "split_legal_form"]

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    # German-speaking countries
    "gmbh co kg": ("GmbH & Co. KG", "GmbH und Co. KG", "GmbH & Co KG"),
    "gmbh co kgaa": ("GmbH & Co. KGaA", "GmbH und Co. KGaA"),
    "gmbh": ("GmbH", "Gesellschaft mit beschränkter Haftung", "Ges.m.b.H.", "GesmbH"),
    "ug": ("UG (haftungsbeschränkt)", "UG haftungsbeschränkt", "UG"),
    "ag": ("AG", "Aktiengesellschaft"),
    "kg": ("KG", "Kommanditgesellschaft"),
    "ohg": ("OHG", "offene Handelsgesellschaft"),
    "ek": ("e.K.", "eingetragener Kaufmann", "e.Kfm.", "e.Kfr."),
    "ev": ("e.V.", "eingetragener Verein"),
    "eg": ("eG", "e.G.", "eingetragene Genossenschaft"),
    "kgaa": ("KGaA",),
    "gbr": ("GbR",),
    "se": ("SE", "Societas Europaea"),
    # English-speaking countries
    "ltd": ("Ltd", "Ltd.", "Limited", "Pty Ltd", "Pty. Ltd.", "Proprietary Limited"),
    "plc": ("PLC", "Public Limited Company"),
    "llp": ("LLP", "Limited Liability Partnership"),
    "llc": ("LLC", "L.L.C.", "Limited Liability Company"),
    "inc": ("Inc", "Inc.", "Incorporated"),
    "corp": ("Corp", "Corp.", "Corporation"),
    "co": ("Co", "Co.", "Company", "& Co", "and Co", "and Company", "& Company"),
    "lp": ("LP", "L.P.", "Limited Partnership"),
    "pc": ("PC", "P.C.", "Professional Corporation"),
    # French, Spanish, Italian, Portuguese
    "sa": ("S.A.", "SA", "Société Anonyme", "Sociedad Anónima", "Sociedade Anónima"),
    "sau": ("S.A.U.", "SAU", "Sociedad Anónima Unipersonal"),
    "sarl": ("SARL", "S.à r.l.", "S.à.r.l.", "Société à responsabilité limitée"),
    "sas": ("SAS", "S.A.S.", "Société par actions simplifiée"),
    "sasu": ("SASU",),
    "sl": ("S.L.", "SL", "Sociedad Limitada", "Sociedad de Responsabilidad Limitada"),
    "slu": ("S.L.U.", "SLU"),
    "sll": ("S.L.L.", "SLL"),
    "scoop": ("S.Coop.", "Sociedad Cooperativa"),
    "srl": ("Srl", "S.r.l.", "Società a responsabilità limitata"),
    "spa": ("S.p.A.", "SpA", "Società per azioni"),
    "lda": ("Lda", "Lda."),
    # Benelux, Nordics, Central Europe
    "bv": ("B.V.", "BV", "Besloten Vennootschap"),
    "nv": ("N.V.", "NV", "Naamloze Vennootschap"),
    "ab": ("AB", "Aktiebolag"),
    "as": ("A/S", "AS", "ASA", "Aktieselskab"),
    "aps": ("ApS", "Anpartsselskab"),
    "oy": ("Oy", "Oyj", "Osakeyhtiö"),
    "spzoo": ("Sp. z o.o.", "Sp. z.o.o.", "Spółka z ograniczoną odpowiedzialnością"),
    "sro": ("s.r.o.", "spol. s r.o."),
    "as_cz": ("a.s.",),
    "kft": ("Kft.", "Kft"),
    # East Asia
    "kk": ("K.K.", "Kabushiki Kaisha", "株式会社", "(株)"),
    "youxian gongsi": ("有限公司", "有限责任公司", "有限責任公司"),
    "gufen youxian gongsi": ("股份有限公司",),
    "jituan": ("集团", "集團", "集团有限公司"),
}
"""Canonical legal form code -> the ways it is written."""

_SPELLINGS = [(fold(v), code) for code, spellings in LEGAL_FORMS.items() for v in spellings]
_BY_TOKENS: dict[tuple[str, ...], str] = {tuple(v.split()): code for v, code in _SPELLINGS}
_LONGEST = max(len(key) for key in _BY_TOKENS)
_LAST_WORDS = frozenset(key[-1] for key in _BY_TOKENS)
# Chinese and Japanese names are written without spaces: their forms are suffixes.
_SUFFIXES = sorted(
    ((v, code) for v, code in _SPELLINGS if not v.isascii() and " " not in v),
    key=lambda item: -len(item[0]),
)

# Written-out forms are typed by hand, and mistyped: one slip ("Aktingesellschaft",
# "Limited Lilability Company") still names the form. Short forms are left out,
# since one letter off "KG" or "Ltd" is as likely a word of the name. One slip
# leaves a long spelling's first two or last two letters as they were, which
# finds the few spellings worth comparing.
_LONG_SPELLINGS: dict[str, list[tuple[str, str]]] = {}
for _spelling, _code in _SPELLINGS:
    if _spelling.isascii() and len(_spelling) >= 8:
        for _end in ("<" + _spelling[:2], _spelling[-2:] + ">"):
            _LONG_SPELLINGS.setdefault(_end, []).append((_spelling, _code))
# Chinese and Japanese forms of four signs or more, to be found with a slip too.
_LONG_SUFFIXES = [(v, code) for v, code in _SUFFIXES if len(v) >= 4]
_distance = DamerauLevenshtein.distance
_LONG_LENGTHS = frozenset(
    size
    for v, _ in _SPELLINGS
    if v.isascii() and len(v) >= 8
    for size in range(len(v) - 1, len(v) + 2)
)


def split_legal_form(words: list[str]) -> tuple[list[str], str | None]:
    """Remove legal forms from folded ``words``; return the rest and the form's code.

    Legal forms are looked for at the end of the name, where they are written in
    every language crmerp knows; a name that is nothing but a legal form keeps it.
    Where several forms follow each other the longest known spelling is taken
    first, and the code is that of the last form in the name.

    >>> split_legal_form(["acme", "gesellschaft", "mit", "beschraenkter", "haftung"])
    (['acme'], 'gmbh')
    >>> split_legal_form(["明腾网络有限公司"])
    (['明腾网络'], 'youxian gongsi')
    """
    rest, code = _without_form_at_start(list(words))
    while rest:
        found = _without_form_at_end(rest)
        if found is None or not found[0]:
            break
        rest = found[0]
        code = code or found[1]
    return rest, code


def _without_form_at_end(words: list[str]) -> tuple[list[str], str] | None:
    known_end = words[-1] in _LAST_WORDS
    longest = min(_LONGEST, len(words))
    length = sum(len(w) for w in words[-longest:]) + longest - 1
    for size in range(longest, 0, -1):
        code = _BY_TOKENS.get(tuple(words[-size:])) if known_end else None
        if code is None and length in _LONG_LENGTHS:
            code = _mistyped(words[-size:])
        length -= len(words[-size]) + 1
        if code is not None:
            return words[:-size], code
    last = words[-1]
    if last.isascii():
        return None
    for spelling, code in _SUFFIXES:
        if last.endswith(spelling) and len(last) > len(spelling):
            return [*words[:-1], last[: -len(spelling)]], code
    for spelling, code in _LONG_SUFFIXES:
        # A sign too many is taken with the form, a sign too few is not taken.
        for size in (len(spelling) + 1, len(spelling), len(spelling) - 1):
            if len(last) > size and _distance(last[-size:], spelling, score_cutoff=1) <= 1:
                return [*words[:-1], last[:-size]], code
    return None


def _mistyped(words: list[str]) -> str | None:
    first, last = words[0], words[-1]
    if (
        len(first) > 1
        and len(last) > 1
        and "<" + first[:2] not in _LONG_SPELLINGS
        and last[-2:] + ">" not in _LONG_SPELLINGS
    ):
        return None
    tail = " ".join(words)
    for end in ("<" + tail[:2], tail[-2:] + ">"):
        for spelling, code in _LONG_SPELLINGS.get(end, ()):
            if DamerauLevenshtein.distance(tail, spelling, score_cutoff=1) <= 1:
                return code
    return None


def _without_form_at_start(words: list[str]) -> tuple[list[str], str | None]:
    # Japanese puts 株式会社 before the name as often as after it.
    first = words[0] if words else ""
    if first.isascii():
        return words, None
    for spelling, code in _SUFFIXES:
        if first.startswith(spelling) and len(first) > len(spelling):
            return [first[len(spelling) :], *words[1:]], code
    return words, None
