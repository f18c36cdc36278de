"""Handing each entity to the matcher that suits it, and the engine's default choice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crmerp.match._decide import Thresholds
from crmerp.match._matcher import ProbabilisticMatcher
from crmerp.match._protocol import ExactKeyMatcher, MatchDecisions, Matcher
from crmerp.models import CanonicalModel

__all__ = ["EntityMatchers", "default_matcher"]


class EntityMatchers:
    """A :class:`Matcher` that hands each entity to its own matcher.

    >>> from crmerp.match import ExactKeyMatcher
    >>> EntityMatchers({"product": ExactKeyMatcher()}).match("customer", [], []).links
    ()
    """

    def __init__(self, matchers: Mapping[str, Matcher], default: Matcher | None = None) -> None:
        self.matchers = dict(matchers)
        self.default = default

    def match(
        self,
        entity: str,
        crm: Sequence[CanonicalModel],
        erp: Sequence[CanonicalModel],
        rejected: frozenset[tuple[str, str]] = frozenset(),
    ) -> MatchDecisions:
        """The decisions of the matcher for ``entity`` (none: nothing is paired)."""
        matcher = self.matchers.get(entity, self.default)
        if matcher is None:
            return MatchDecisions()
        return matcher.match(entity, crm, erp, rejected)


def default_matcher(thresholds: Thresholds | None = None) -> EntityMatchers:
    """What the engine matches with unless told otherwise.

    Customers go to :class:`ProbabilisticMatcher` (names, tax ids, emails, phones,
    addresses: sure pairs link, likely ones go to review), in the bands of
    ``thresholds`` (default :class:`Thresholds`); products are paired by their
    exact SKU or GTIN, the catalogue's own keys, which a small catalogue gives
    too little data to weigh probabilistically.
    """
    return EntityMatchers(
        {"customer": ProbabilisticMatcher(thresholds), "product": ExactKeyMatcher()}
    )
