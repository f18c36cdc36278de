"""Pair probabilities that know each record has at most one partner.

Fellegi-Sunter scores every pair on its own: its prior is the chance that two
records picked at random match. Between two systems a record has at most one
partner, so the question a link answers is "which of this record's candidates,
if any, is its partner?". With ``share`` the chance that a record has a partner
on the other side, and ``odds`` each candidate's pairwise odds, the chance that
candidate ``j`` is the one is (one record's view)::

    odds[j] / ((1 - share) + sum(odds))

as in Bayesian bipartite record linkage. A record alone with one strong
candidate gains up to ``log2(1 / (1 - share))`` bits over the pairwise odds.
Both records of a pair have a view; the pair takes the lower.

Rivals take nothing away, though: a system may hold the same customer twice,
which breaks the one-partner assumption, and two near-equal candidates are then
both right. A pair with rivals keeps at least its pairwise odds, and the
decision's margin rule sends near-equal candidates to review. Candidates
blocking never proposed are taken to hold nothing, since they agree on no
blocking key; rejected pairs are known not to match and are no rivals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

from crmerp.match._scoring import Contribution, Explanation, ScoredPair, probability

__all__ = ["EXCLUSIVE", "exclusive"]

EXCLUSIVE = "one partner"
_MAX_SHARE = 0.9  # a record's chance of a partner, at most: caps the gain at 3.3 bits
_MAX_BITS = 1000.0  # odds beyond 2**1000 are certain; keeps 2**w finite


def exclusive(
    pairs: Sequence[ScoredPair], prior: float, sizes: tuple[int, int]
) -> list[ScoredPair]:
    """``pairs`` re-weighted as above; a pair that gains says by how much.

    ``prior`` is the pairwise prior, ``sizes`` the records on the left and on the
    right; a left record's chance of a partner is ``prior * sizes[1]``, and the
    other way round.
    """
    shares = (min(prior * sizes[1], _MAX_SHARE), min(prior * sizes[0], _MAX_SHARE))
    odds = [math.pow(2.0, min(p.weight, _MAX_BITS)) for p in pairs]
    rivals = (
        _rival_odds([p.left for p in pairs], odds),
        _rival_odds([p.right for p in pairs], odds),
    )
    rescored = []
    for k, pair in enumerate(pairs):
        rest = max(1.0 - shares[0] + rivals[0][k], 1.0 - shares[1] + rivals[1][k])
        if rest < 1.0:
            pair = pair._replace(explanation=_with_bits(pair.explanation, -math.log2(rest)))
        rescored.append(pair)
    return rescored


def _rival_odds(records: Sequence[Hashable], odds: Sequence[float]) -> list[float]:
    # The odds of each pair's rivals for one record: the sum over that record's
    # other pairs. A record's best pair sums the rest exactly (subtracting it from
    # the total would lose small rivals beside large odds); the others subtract.
    by_record: dict[Hashable, list[int]] = defaultdict(list)
    for k, record in enumerate(records):
        by_record[record].append(k)
    rivals = [0.0] * len(odds)
    for ks in by_record.values():
        if len(ks) == 1:
            continue
        best = max(ks, key=odds.__getitem__)
        total = math.fsum(odds[k] for k in ks)
        for k in ks:
            rivals[k] = math.fsum(odds[i] for i in ks if i != k) if k == best else total - odds[k]
    return rivals


def _with_bits(explanation: Explanation, bits: float) -> Explanation:
    weight = explanation.weight + bits
    contributions = (*explanation.contributions, Contribution(EXCLUSIVE, "no rival", bits))
    return Explanation(weight, probability(weight), contributions)
