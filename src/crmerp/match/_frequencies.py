"""Term frequencies: exact agreement on a rare value says more than on a common one.

Two records called "Müller" agree by chance far more often than two called
"Herlinde Losekann". A comparison marked ``term_frequencies`` has the weight of
its exact level adjusted per value, as in Splink's term frequency adjustments:
``u`` becomes the chance that a record picked at random has that value.

That chance is estimated from the records being matched. A value seen once in
each system is a match more often than not, so its own count says little of how
rare it is; its words say more. The chance is taken as the larger of

- the product of its words' shares (the share of records whose value holds the
  word), as if words were chosen independently: "herlinde" and "losekann" are
  each rare, "mueller" alone is common;
- the share of records holding the value beyond the pair compared: a name
  three records share is no longer rare, whatever its words.

Counts leave out the pair compared, whose two records hold the value whether
they match or not, and add one record for the next that might. Inputs too
small to count on (see :class:`~crmerp.match.Settings`) are not adjusted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import attrs

from crmerp._errors import UsageError
from crmerp.match._spec import Comparison, Features

__all__ = ["TermFrequencies", "ValueWeights", "term_frequencies"]


@attrs.frozen
class TermFrequencies:
    """How many records hold each value, and each word of a value, of one comparison."""

    values: Counter[Hashable]
    words: Counter[str]
    records: int
    _known: dict[Hashable, float] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def u(self, value: Hashable) -> float:
        """The chance that a record picked at random holds ``value``."""
        found = self._known.get(value)
        if found is None:
            found = self._known[value] = self._u(value)
        return found

    def _u(self, value: Hashable) -> float:
        share = 1.0
        for word in set(str(value).split()):
            # The pair compared holds the word twice: leave it out, but count one,
            # as the next record might hold the word too.
            share *= max(self.words[word] - 1, 1) / self.records
        beyond_pair = (self.values[value] - 2) / self.records
        return max(share, beyond_pair, 1.0 / self.records**2)


class ValueWeights:
    """The adjustment of one comparison's exact level for each compared pair.

    ``left`` and ``right`` hold each record's exact keys; ``average_u`` is the
    exact level's u, which the adjustment replaces by the value's own.
    """

    def __init__(
        self,
        frequencies: TermFrequencies,
        left: Sequence[frozenset[Hashable]],
        right: Sequence[frozenset[Hashable]],
        average_u: float,
    ) -> None:
        self.frequencies = frequencies
        self.left = left
        self.right = right
        self.average_u = average_u
        self._bits: dict[frozenset[Hashable], float] = {}

    def __call__(self, i: int, j: int) -> float:
        """Bits to add for left record ``i`` agreeing exactly with right record ``j``."""
        shared = self.left[i] & self.right[j]
        if not shared:
            return 0.0
        found = self._bits.get(shared)
        if found is None:
            rarest = min(map(self.frequencies.u, shared))
            found = self._bits[shared] = math.log2(self.average_u / rarest)
        return found


def term_frequencies(
    comparison: Comparison,
    left: Sequence[Features],
    right: Sequence[Features] | None,
    average_u: float,
) -> ValueWeights:
    """Count the values and words of ``comparison`` over both sides (or one, deduplicating)."""
    keys = getattr(comparison.comparator, "exact_keys", None)
    if keys is None:
        raise UsageError(
            f"comparison {comparison.name!r}: term frequencies need a comparator with exact_keys",
            code="match-spec",
        )
    left_keys = [frozenset(keys(r[comparison.feature])) for r in left]
    right_keys = (
        left_keys if right is None else [frozenset(keys(r[comparison.feature])) for r in right]
    )
    values: Counter[Hashable] = Counter()
    words: Counter[str] = Counter()
    for side in (left_keys,) if right is None else (left_keys, right_keys):
        for found in side:
            values.update(found)
            words.update(_words(found))
    records = len(left_keys) + (0 if right is None else len(right_keys))
    return ValueWeights(TermFrequencies(values, words, records), left_keys, right_keys, average_u)


def _words(values: Iterable[Hashable]) -> set[str]:
    return {word for value in values for word in str(value).split()}
