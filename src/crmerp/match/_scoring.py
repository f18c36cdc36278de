"""Match weights of compared pairs, with what each field added or took away."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import attrs

from crmerp.match._comparators import NULL
from crmerp.match._estimate import Parameters
from crmerp.match._spec import MatchSpec

__all__ = ["Contribution", "Explanation", "ScoredPair", "Scorer", "probability"]


@attrs.frozen
class Contribution:
    """What one comparison said about a pair: its level and the weight in bits."""

    comparison: str
    level: str
    weight: float


@attrs.frozen
class Explanation:
    """A pair's match weight (bits, prior included), its probability, and why."""

    weight: float
    probability: float
    contributions: tuple[Contribution, ...]

    def as_pairs(self) -> tuple[tuple[str, float], ...]:
        """``(comparison, weight)`` for each comparison that had both values."""
        return tuple((c.comparison, round(c.weight, 3)) for c in self.contributions)


class ScoredPair(NamedTuple):
    """A compared pair of records (by id) and its explanation."""

    left: str
    right: str
    explanation: Explanation

    @property
    def weight(self) -> float:
        """The match weight in bits: prior odds plus each comparison's weight."""
        return self.explanation.weight

    @property
    def probability(self) -> float:
        """The chance the two records are one entity, given the parameters."""
        return self.explanation.probability


def probability(weight: float) -> float:
    """The probability a match weight in bits stands for."""
    return 1.0 / (1.0 + math.pow(2.0, -weight)) if weight > -1000 else 0.0


class Scorer:
    """Turns comparison vectors into explanations, computing each vector once.

    ``adjustments`` maps a comparison's position to the bits its exact level
    gains or loses for a pair ``(i, j)``: its term frequency adjustment.
    """

    def __init__(
        self,
        spec: MatchSpec,
        parameters: Parameters,
        adjustments: Mapping[int, Callable[[int, int], float]] | None = None,
    ) -> None:
        self.spec = spec
        self.parameters = parameters
        self.adjustments = dict(adjustments or {})
        self._cache: dict[tuple[int, ...], Explanation] = {}
        self._adjusted_cache: dict[tuple[object, ...], Explanation] = {}
        self._adjusting = [
            (k, spec.comparisons[k].name, adjust) for k, adjust in self.adjustments.items()
        ]

    def explain(self, pattern: tuple[int, ...]) -> Explanation:
        """The explanation of one comparison vector."""
        found = self._cache.get(pattern)
        if found is None:
            found = self._cache[pattern] = self._explain(pattern)
        return found

    def _explain(self, pattern: tuple[int, ...]) -> Explanation:
        contributions = tuple(
            Contribution(c.name, c.levels[level], self.parameters.weight(c.name, level))
            for c, level in zip(self.spec.comparisons, pattern, strict=True)
            if level != NULL
        )
        weight = self.parameters.prior_weight() + sum(c.weight for c in contributions)
        return Explanation(weight, probability(weight), contributions)

    def score(
        self,
        compared: Iterable[tuple[int, int, tuple[int, ...]]],
        left_ids: Sequence[str],
        right_ids: Sequence[str],
    ) -> list[ScoredPair]:
        """Score ``(left position, right position, vector)`` triples."""
        if not self.adjustments:
            return [
                ScoredPair(left_ids[i], right_ids[j], self.explain(pattern))
                for i, j, pattern in compared
            ]
        return [
            ScoredPair(left_ids[i], right_ids[j], self._adjusted(i, j, pattern))
            for i, j, pattern in compared
        ]

    def _adjusted(self, i: int, j: int, pattern: tuple[int, ...]) -> Explanation:
        explanation = self._cache.get(pattern) or self.explain(pattern)
        extra: tuple[tuple[str, float], ...] = ()
        for k, name, adjust in self._adjusting:
            if pattern[k] == 0 and (bits := adjust(i, j)):
                extra += ((name, bits),)
        if not extra:
            return explanation
        key = (pattern, extra)
        found = self._adjusted_cache.get(key)
        if found is None:
            found = self._adjusted_cache[key] = _with(explanation, dict(extra))
        return found


def _with(explanation: Explanation, extra: Mapping[str, float]) -> Explanation:
    contributions = tuple(
        Contribution(c.comparison, c.level, c.weight + extra[c.comparison])
        if c.comparison in extra
        else c
        for c in explanation.contributions
    )
    weight = explanation.weight + sum(extra.values())
    return Explanation(weight, probability(weight), contributions)
