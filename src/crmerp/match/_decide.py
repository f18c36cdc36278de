"""Three bands and the one-to-one rule: link, send to review, or treat as new."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

import attrs

from crmerp._errors import UsageError
from crmerp.match._protocol import MatchDecisions, ReviewItem
from crmerp.match._scoring import ScoredPair

__all__ = ["Band", "Thresholds", "decide"]


class Band(StrEnum):
    """Where a pair's probability puts it."""

    LINK = "link"
    REVIEW = "review"
    NEW = "new"


def _check(instance: Thresholds, attribute: object, value: float) -> None:
    if not 0.0 < instance.review <= instance.link < 1.0:
        raise UsageError(
            f"thresholds need 0 < review <= link < 1, got review={instance.review} "
            f"link={instance.link}",
            code="match-thresholds",
        )


@attrs.frozen
class Thresholds:
    """Probability bands: link at or above ``link``, review from ``review`` up.

    ``margin`` (bits) keeps a pair out of the link band when either record has a
    rival candidate scoring within that margin: two near-equal partners mean a
    duplicate somewhere, which a person should settle. ``reviews_per_record``
    caps how many review items name one record.

    ``link`` is the probability of the weakest pair linked at once, not the
    share of links that are right: most links score far above it. At the
    default of 0.95 the benchmark's links were 99.97% right or better (see
    docs/matching.md, "Choosing the link threshold"); at 0.999 the wrong links
    of 100,000 customers fell from 17 to 2, and some 430 more true pairs were
    left to review or created twice.
    """

    link: float = attrs.field(default=0.95, validator=_check)
    review: float = attrs.field(default=0.5, validator=_check)
    margin: float = 2.0
    reviews_per_record: int = 3

    def band(self, probability: float) -> Band:
        """The band of a pair with this probability, before the one-to-one rule."""
        if probability >= self.link:
            return Band.LINK
        return Band.REVIEW if probability >= self.review else Band.NEW


def decide(
    scored: Iterable[ScoredPair],
    thresholds: Thresholds,
    rejected: frozenset[tuple[str, str]] = frozenset(),
) -> MatchDecisions:
    """One-to-one links from the link band, and review items for the rest above review.

    Pairs are taken strongest first; a record already linked takes no other pair.
    Rejected pairs are dropped before anything else, so they are never proposed
    and never stand in the way of another candidate.
    """
    ranked = sorted(
        (
            p
            for p in scored
            if p.probability >= thresholds.review and (p.left, p.right) not in rejected
        ),
        key=lambda p: (-p.weight, p.left, p.right),
    )
    rivals = _runner_up(ranked)
    linked_left: set[str] = set()
    linked_right: set[str] = set()
    links: list[tuple[str, str]] = []
    maybe: list[ScoredPair] = []
    for pair in ranked:
        if pair.left in linked_left or pair.right in linked_right:
            continue
        clear = pair.weight - max(rivals(pair)) >= thresholds.margin
        if pair.probability >= thresholds.link and clear:
            links.append((pair.left, pair.right))
            linked_left.add(pair.left)
            linked_right.add(pair.right)
        else:
            maybe.append(pair)
    reviews = _reviews(maybe, linked_left, linked_right, thresholds.reviews_per_record)
    return MatchDecisions(links=tuple(links), reviews=tuple(reviews))


def _runner_up(ranked: Sequence[ScoredPair]) -> _Rivals:
    best: dict[tuple[int, str], list[float]] = {}
    for pair in ranked:
        for key in ((0, pair.left), (1, pair.right)):
            weights = best.setdefault(key, [])
            if len(weights) < 2:
                weights.append(pair.weight)
    return _Rivals(best)


class _Rivals:
    """The best other candidate's weight, per record side."""

    def __init__(self, best: dict[tuple[int, str], list[float]]) -> None:
        self.best = best

    def __call__(self, pair: ScoredPair) -> tuple[float, float]:
        return (self._other(0, pair.left, pair.weight), self._other(1, pair.right, pair.weight))

    def _other(self, side: int, record: str, weight: float) -> float:
        weights = self.best[(side, record)]
        if len(weights) < 2:
            return float("-inf")
        return weights[1] if weights[0] == weight else weights[0]


def _reviews(
    pairs: Sequence[ScoredPair], linked_left: set[str], linked_right: set[str], cap: int
) -> list[ReviewItem]:
    seen: dict[tuple[int, str], int] = {}
    reviews: list[ReviewItem] = []
    for pair in pairs:
        if pair.left in linked_left or pair.right in linked_right:
            continue
        keys = ((0, pair.left), (1, pair.right))
        if any(seen.get(k, 0) >= cap for k in keys):
            continue
        for k in keys:
            seen[k] = seen.get(k, 0) + 1
        reviews.append(
            ReviewItem(
                crm_id=pair.left,
                erp_id=pair.right,
                score=pair.probability,
                explanation=pair.explanation.as_pairs(),
            )
        )
    return reviews
