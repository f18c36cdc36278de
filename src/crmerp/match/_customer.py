"""How customers are matched: features, comparisons and blocking keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from crmerp.match._addresses import AddressKey, normalize_address
from crmerp.match._comparators import NULL, AnyShared, Exact
from crmerp.match._identifiers import FREEMAIL_DOMAINS, email_key, phone_key, tax_id_key
from crmerp.match._names import (
    NameKey,
    company_name_key,
    normalize_company_name,
    normalize_person_name,
    person_name_key,
)
from crmerp.match._spec import Comparison, Features, MatchSpec
from crmerp.models import Customer, CustomerKind

__all__ = [
    "AddressComparator",
    "EmailComparator",
    "LegalFormComparator",
    "NameComparator",
    "customer_blocking_keys",
    "customer_features",
    "customer_spec",
]


@attrs.frozen
class NameComparator:
    """Names: exact, one slip apart, similar, alike, or different.

    Values are :class:`~crmerp.match.NameKey`. One slip is a typo, a lost or
    stray space, or two letters swapped, in names long enough for that to mean
    something; similar is two slips or a high Jaro-Winkler similarity; alike is
    a lower one, or every word of one name found in the other (a name cut
    short, or with words added).

    >>> from crmerp.match import person_name_key as key
    >>> compare = NameComparator()
    >>> compare(key("Karen Anderson"), key("Anderson, aKren")), compare(key("Jo Li"), key("Al Bo"))
    (1, 4)
    """

    levels: tuple[str, ...] = ("exact", "one slip", "similar", "alike", "different")

    def exact_keys(self, value: NameKey | None) -> tuple[str, ...]:
        """What must be equal for the first level; lets u be counted, not sampled."""
        return (value.key,) if value and value.key else ()

    def __call__(self, a: NameKey | None, b: NameKey | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if not a or not b:
            return NULL
        key_a, flat_a, _ = a
        key_b, flat_b, turned_b = b
        if not key_a or not key_b:
            return NULL
        if key_a == key_b:
            return 0
        best = _similarity(flat_a, flat_b, score_cutoff=0.7)
        if turned_b != flat_b:
            best = max(best, _similarity(flat_a, turned_b, score_cutoff=0.7))
        if best < 0.7:  # no two names a slip or two apart are this far apart
            return 3 if _words_within(key_a, key_b) else 4
        slips = _distance(flat_a, flat_b, score_cutoff=2)
        if turned_b != flat_b:
            slips = min(slips, _distance(flat_a, turned_b, score_cutoff=2))
        shorter = min(len(flat_a), len(flat_b))
        if slips <= 1 and shorter >= 5:
            return 1
        if (slips <= 2 and shorter >= 8) or best >= 0.93:
            return 2
        if best >= 0.85 or _words_within(key_a, key_b):
            return 3
        return 4


_distance = DamerauLevenshtein.distance
_similarity = JaroWinkler.normalized_similarity


def _words_within(a: str, b: str) -> bool:
    # Cheap first: either name's first word must be found in the other.
    if a.partition(" ")[0] not in b and b.partition(" ")[0] not in a:
        return False
    words_a, words_b = set(a.split()), set(b.split())
    return words_a <= words_b or words_b <= words_a


@attrs.frozen
class LegalFormComparator:
    """Legal forms: the same or different, counted only where the names differ.

    Values are ``(name key, legal form)``. Companies that share a name exactly,
    such as a branch and its namesake, mostly share its legal form too, so
    under one name the same form is no further evidence, and counting it would
    count the name twice. A different form under one name still counts against:
    "Müller GmbH" and "Müller KG" are two companies.

    >>> compare = LegalFormComparator()
    >>> compare(("mueller", "GmbH"), ("mueller bau", "GmbH")), compare(("a", "AG"), ("a", "AG"))
    (0, -1)
    """

    levels: tuple[str, ...] = ("exact", "different")

    def exact_keys(self, value: tuple[str, str] | None) -> tuple[str, ...]:
        """The legal form: lets u of "exact" be counted, not sampled."""
        return (value[1],) if value else ()

    def __call__(self, a: tuple[str, str] | None, b: tuple[str, str] | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if not a or not b:
            return NULL
        if a[1] != b[1]:
            return 1
        return NULL if a[0] == b[0] else 0


@attrs.frozen
class EmailComparator:
    """Emails: an address in common, else a company domain in common, else different.

    Values are ``(addresses, company_domains)`` pairs of sets; free-mail domains
    are left out of the domains by :func:`customer_features`.
    """

    levels: tuple[str, ...] = ("same address", "same domain", "different")

    def exact_keys(self, value: tuple[frozenset[str], frozenset[str]]) -> frozenset[str]:
        """Addresses, any of which shared puts a pair in the first level."""
        return value[0]

    def __call__(self, a: tuple[frozenset[str], frozenset[str]], b: Any, /) -> int:
        """The level of ``a`` against ``b``."""
        if not a[0] or not b[0]:
            return NULL
        if not a[0].isdisjoint(b[0]):
            return 0
        return 2 if a[1].isdisjoint(b[1]) else 1


@attrs.frozen
class AddressComparator:
    """Addresses: same, same street, same postcode, same city, different, or in
    another country.

    Customers with several addresses are compared on their closest pair. A
    street and a city written into each other's fields still compare, since
    the street level also accepts the street found in the other's city. Two
    addresses on the same street where neither gives a number count as the
    same street too: u, counted over such pairs, says how much that is worth.
    Addresses in two countries are a level of their own: one company is rarely
    registered in two countries under two ids, while two companies of one name
    often are.
    """

    street_threshold: float = 0.9
    levels: tuple[str, ...] = (
        "same",
        "same street",
        "same postcode",
        "same city",
        "different",
        "another country",
    )

    def exact_keys(self, value: tuple[AddressKey, ...]) -> set[tuple[str, ...]]:
        """Postcode (or city), street start and number (none for a street without
        numbers): most pairs at "same" share one.

        Lets u of "same" be counted rather than sampled.
        """
        return {
            (a.postcode or a.city, a.street[:3], a.number)
            for a in value
            if a.street and (a.postcode or a.city)
        }

    def level_keys(self, value: tuple[AddressKey, ...]) -> dict[int, set[Any]]:
        """Keys of "same" and of "same postcode" (the postcode, shared also by most at "same")."""
        return {0: self.exact_keys(value), 2: {a.postcode for a in value if a.postcode}}

    def __call__(self, a: tuple[AddressKey, ...], b: tuple[AddressKey, ...], /) -> int:
        """The level of the closest addresses of ``a`` and ``b``."""
        if not a or not b:
            return NULL
        if len(a) == 1 and len(b) == 1:
            return self._pair(a[0], b[0])
        return min(self._pair(x, y) for x in a for y in b)

    def _pair(self, a: AddressKey, b: AddressKey) -> int:
        if a.country and b.country and a.country != b.country:
            return 5
        same_postcode = bool(a.postcode) and a.postcode == b.postcode
        if a.number == b.number and self._street(a, b):
            # The same number, or neither has one (a street where none are used).
            placed = same_postcode or (a.city == b.city and bool(a.city or a.number))
            return 0 if placed else 1
        if same_postcode:
            return 2
        if a.city and b.city and JaroWinkler.normalized_similarity(a.city, b.city) >= 0.92:
            return 3
        return 4

    def _street(self, a: AddressKey, b: AddressKey) -> bool:
        similar = JaroWinkler.normalized_similarity
        if a.street and b.street and similar(a.street, b.street) >= self.street_threshold:
            return True
        return bool(a.street and a.street == b.city.replace(" ", "")) or bool(
            b.street and b.street == a.city.replace(" ", "")
        )


def customer_features(customer: Customer) -> Features:
    """The normalised values of a customer that matching compares."""
    if customer.kind is CustomerKind.PERSON:
        name, legal_form = person_name_key(customer.name), None
    else:
        name = company_name_key(customer.name)
        legal_form = normalize_company_name(customer.name).legal_form
    emails = [email_key(e) for e in customer.emails]
    for contact in customer.contacts:
        if contact.email:
            emails.append(email_key(contact.email))
    phones = [p.number for p in customer.phones]
    phones += [c.phone.number for c in customer.contacts if c.phone]
    addresses = tuple(
        key
        for a in customer.addresses
        if not (key := normalize_address(a.street, a.postcode, a.city, a.country)).is_empty()
    )
    return {
        "name": name,
        "legal_form": legal_form,
        "named_form": (name.key, legal_form) if name and legal_form else None,
        "tax_id": tax_id_key(customer.tax_id) if customer.tax_id else None,
        "emails": (
            frozenset(address for address, _ in emails),
            frozenset(domain for _, domain in emails if domain not in FREEMAIL_DOMAINS),
        ),
        "phones": frozenset(k for p in phones if len(k := phone_key(p)) >= 6),
        "address": addresses,
        "contacts": frozenset(normalize_person_name(c.name) for c in customer.contacts),
    }


def customer_blocking_keys(features: Features) -> Iterator[str]:
    """Blocks a customer falls in: shared identifiers, name, and address parts."""
    name: str = features["name"].key
    if features["tax_id"]:
        yield f"t:{features['tax_id']}"
    addresses, domains = features["emails"]
    yield from (f"e:{a}" for a in addresses)
    yield from (f"d:{d}" for d in domains)
    yield from (f"p:{p}" for p in features["phones"])
    yield from (f"c:{c}" for c in features["contacts"])
    words = sorted(name.split())
    if name:
        yield f"w:{' '.join(words)}"
        yield f"w3:{' '.join(w[:3] for w in words)}"
        # Common names make oversized blocks; the legal form splits them again.
        yield f"nl:{name}:{features['legal_form']}"
    first = name.split()[0] if name else ""
    for address in features["address"]:
        if address.postcode and address.number:
            yield f"a:{address.postcode}:{address.number}"
        if address.postcode and address.street:
            yield f"b:{address.postcode}:{address.street[:4]}"
        if first:
            yield f"f:{first}:{address.postcode or address.city}"


def customer_spec() -> MatchSpec:
    """The default way customers are matched.

    Comparisons: name (Jaro-Winkler), legal form, tax id, emails, phones, address
    and contact persons. Starting m and u are typical of business data; estimation
    replaces them with what the data shows.
    """
    return MatchSpec(
        entity="customer",
        features=customer_features,
        comparisons=(
            Comparison(
                "name",
                NameComparator(),
                m=(0.7, 0.15, 0.06, 0.05, 0.04),
                u=(0.0005, 0.0002, 0.001, 0.01, 0.9883),
                term_frequencies=True,
            ),
            Comparison(
                "legal_form",
                LegalFormComparator(),
                m=(0.9, 0.1),
                u=(0.3, 0.7),
                feature="named_form",
            ),
            Comparison("tax_id", Exact(), m=(0.95, 0.05), u=(0.0001, 0.9999)),
            Comparison("emails", EmailComparator(), m=(0.6, 0.2, 0.2), u=(0.0001, 0.001, 0.9989)),
            Comparison("phones", AnyShared(), m=(0.7, 0.3), u=(0.0001, 0.9999)),
            Comparison(
                "address",
                AddressComparator(),
                m=(0.65, 0.15, 0.08, 0.07, 0.045, 0.005),
                u=(0.0001, 0.0002, 0.002, 0.02, 0.3777, 0.6),
            ),
            Comparison("contacts", AnyShared(), m=(0.5, 0.5), u=(0.001, 0.999)),
        ),
        blocking_keys=customer_blocking_keys,
        sessions=(("name", "exact"), ("address", "same")),
    )
