"""What the engine asks of a matcher, and the simple exact-key matcher it ships with."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import attrs

from crmerp.models import CanonicalModel

__all__ = ["ExactKeyMatcher", "MatchDecisions", "Matcher", "ReviewItem"]


@attrs.frozen
class ReviewItem:
    """A candidate pair a person should confirm or reject, with why it scored so."""

    crm_id: str
    erp_id: str
    score: float
    explanation: tuple[tuple[str, float], ...] = ()


@attrs.frozen
class MatchDecisions:
    """Pairs to link at once and pairs to send to review; ids are native ids."""

    links: tuple[tuple[str, str], ...] = ()
    reviews: tuple[ReviewItem, ...] = ()


class Matcher(Protocol):
    """Decides which unlinked CRM and ERP records are the same entity.

    ``crm`` and ``erp`` are records of one entity that have no link yet, with their
    native ids as ``id``. ``rejected`` holds ``(crm_id, erp_id)`` pairs a person
    rejected before; they must not be proposed again. Each record may appear in at
    most one link (one-to-one).
    """

    def match(
        self,
        entity: str,
        crm: Sequence[CanonicalModel],
        erp: Sequence[CanonicalModel],
        rejected: frozenset[tuple[str, str]] = frozenset(),
    ) -> MatchDecisions:
        """Links and review items for these unlinked records."""
        ...


def _customer_keys(record: CanonicalModel) -> Iterable[str]:
    tax_id = getattr(record, "tax_id", None)
    if tax_id:
        yield f"tax:{tax_id.upper()}"
    for email in getattr(record, "emails", ()):
        yield f"email:{email.lower()}"


def _product_keys(record: CanonicalModel) -> Iterable[str]:
    sku = getattr(record, "sku", None)
    if sku:
        yield f"sku:{sku.strip().upper()}"
    gtin = getattr(record, "gtin", None)
    if gtin:
        yield f"gtin:{gtin}"


class ExactKeyMatcher:
    """Links records that share an exact key: tax id or email, SKU or GTIN.

    A key shared by more than one record on either side is ambiguous and links
    nothing. Entities without keys (documents) are never matched.
    """

    def __init__(
        self, keys: dict[str, Callable[[CanonicalModel], Iterable[str]]] | None = None
    ) -> None:
        self.keys = (
            keys
            if keys is not None
            else {
                "customer": _customer_keys,
                "product": _product_keys,
            }
        )

    def match(
        self,
        entity: str,
        crm: Sequence[CanonicalModel],
        erp: Sequence[CanonicalModel],
        rejected: frozenset[tuple[str, str]] = frozenset(),
    ) -> MatchDecisions:
        """Exact-key links, one-to-one, skipping rejected pairs."""
        key_of = self.keys.get(entity)
        if key_of is None or not crm or not erp:
            return MatchDecisions()
        index: dict[str, list[str]] = {}
        for record in erp:
            for key in set(key_of(record)):
                index.setdefault(key, []).append(record.id)
        links: list[tuple[str, str]] = []
        taken: set[str] = set()
        crm_counts: dict[str, int] = {}
        for record in crm:
            for key in set(key_of(record)):
                crm_counts[key] = crm_counts.get(key, 0) + 1
        for record in crm:
            for key in key_of(record):
                hits = index.get(key, [])
                if len(hits) != 1 or crm_counts.get(key, 0) != 1:
                    continue
                pair = (record.id, hits[0])
                if hits[0] in taken or pair in rejected:
                    continue
                links.append(pair)
                taken.add(hits[0])
                break
        return MatchDecisions(links=tuple(links))
