"""The one-partner odds, on hand-made weights."""

import math

import pytest

from crmerp.match._exclusive import exclusive
from crmerp.match._scoring import Explanation, ScoredPair, probability


def _pair(left: str, right: str, weight: float) -> ScoredPair:
    return ScoredPair(left, right, Explanation(weight, probability(weight), ()))


def test_a_lone_pair_gains_what_the_share_of_records_with_a_partner_says() -> None:
    # 1,000 records a side, prior 0.0005: half of each side's records have a partner.
    [pair] = exclusive([_pair("a", "x", 4.0)], 0.0005, (1000, 1000))
    assert pair.weight == pytest.approx(4.0 + math.log2(1 / 0.5))
    assert pair.explanation.contributions[-1].level == "no rival"
    assert pair.probability == pytest.approx(probability(pair.weight))


def test_a_small_rival_beside_huge_odds_still_counts() -> None:
    # Subtracting 2**200 from a total would lose the rival's 2**-2 entirely.
    pairs = exclusive([_pair("a", "x", 200.0), _pair("a", "y", -2.0)], 0.0008, (1000, 1000))
    assert pairs[0].weight - 200.0 == pytest.approx(-math.log2(1 - 0.8 + 2**-2))
    assert pairs[1].weight == -2.0  # its rival is far stronger: no gain


def test_each_side_has_its_view_and_the_lower_counts() -> None:
    # 1,000 "a"-side records and 10 "x"-side: "a" is likely to have a partner,
    # "x" (and so the pair) less so.
    [pair] = exclusive([_pair("a", "x", 3.0)], 0.00005, (10, 1000))
    assert pair.weight == pytest.approx(3.0 - math.log2(1 - 0.0005))


def test_rivals_take_nothing_away_since_a_system_may_hold_duplicates() -> None:
    pairs = exclusive([_pair("a", "x", 10.0), _pair("b", "x", 9.5)], 0.0005, (1000, 1000))
    assert [p.weight for p in pairs] == [10.0, 9.5]


def test_the_share_is_capped_so_no_pair_gains_more_than_a_few_bits() -> None:
    [pair] = exclusive([_pair("a", "x", 1.0)], 0.5, (100, 100))
    assert pair.weight == pytest.approx(1.0 + math.log2(1 / 0.1))
