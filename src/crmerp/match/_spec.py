"""What to compare for one entity: its features, comparisons and blocking keys."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from crmerp._errors import UsageError
from crmerp.match._comparators import Comparator

__all__ = ["Comparison", "Features", "MatchSpec"]

Features = Mapping[str, Any]
"""The normalised values of one record that comparisons and blocking read."""


def _probabilities(values: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(values)
    return tuple(v / total for v in values)


@attrs.frozen
class Comparison:
    """One piece of evidence: a feature, its comparator, and starting m and u.

    ``m`` is, per level, the chance that a true match falls in it; ``u`` the
    chance that two unrelated records do. They are where estimation starts and
    what it falls back on when there is little data; both are normalised.
    ``term_frequencies`` adjusts the exact level's weight by how rare the
    shared value is (see :mod:`crmerp.match._frequencies`); the comparator
    then needs ``exact_keys``.
    """

    name: str
    comparator: Comparator
    m: tuple[float, ...] = attrs.field(converter=_probabilities)
    u: tuple[float, ...] = attrs.field(converter=_probabilities)
    feature: str = ""
    term_frequencies: bool = False

    def __attrs_post_init__(self) -> None:
        size = len(self.comparator.levels)
        if len(self.m) != size or len(self.u) != size:
            raise UsageError(
                f"comparison {self.name!r}: m and u need {size} values each", code="match-spec"
            )
        if not self.feature:
            object.__setattr__(self, "feature", self.name)

    @property
    def levels(self) -> tuple[str, ...]:
        """The comparator's level names."""
        return self.comparator.levels


@attrs.frozen(cache_hash=False, slots=False)
class MatchSpec:
    """How records of one entity are matched.

    ``features`` turns a record into normalised values, ``comparisons`` read them
    pairwise, and ``blocking_keys`` names the blocks a record falls in: only records
    sharing a block are compared, which keeps the work near-linear.
    ``sessions`` name ``(comparison, level)`` pairs to estimate m on: the
    candidate pairs at that level train the other comparisons. Choose levels
    that a blocking key guarantees (an exact name, the same address) and that
    together cover every comparison.
    """

    entity: str
    features: Callable[[Any], Features]
    comparisons: tuple[Comparison, ...]
    blocking_keys: Callable[[Features], Iterable[str]]
    sessions: tuple[tuple[str, str], ...] = ()

    def compare(self, a: Features, b: Features) -> tuple[int, ...]:
        """The level of each comparison for one pair: its comparison vector."""
        return tuple([compare(a[feature], b[feature]) for feature, compare in self._calls])

    @functools.cached_property
    def _calls(self) -> tuple[tuple[str, Comparator], ...]:
        # compare() runs for every candidate pair: look the attributes up once.
        return tuple((c.feature, c.comparator) for c in self.comparisons)

    def comparison(self, name: str) -> Comparison:
        """The comparison called ``name``."""
        for comparison in self.comparisons:
            if comparison.name == name:
                return comparison
        raise KeyError(f"{self.entity} has no comparison {name!r}")
