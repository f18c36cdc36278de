"""Field comparators: each sorts a pair of values into an agreement level.

A comparator has ``levels``, named from the strongest agreement to the last,
"different". Calling it with two values returns the index of their level, or
:data:`NULL` when either value is missing: a missing value is no evidence either
way, so it adds no weight.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Set
from datetime import date, timedelta
from typing import Any, Protocol

import attrs
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

__all__ = [
    "NULL",
    "AnyShared",
    "Comparator",
    "DateComparator",
    "Exact",
    "Numeric",
    "Similarity",
]

NULL = -1
"""The level of a pair where either value is missing."""


class Comparator(Protocol):
    """Sorts two values into one of ``levels``; ``NULL`` when either is missing."""

    @property
    def levels(self) -> tuple[str, ...]:
        """Names of the levels, strongest agreement first, strongest disagreement last."""
        ...

    def __call__(self, a: Any, b: Any, /) -> int:
        """The index of the level of ``a`` against ``b``, or ``NULL``."""
        ...


@attrs.frozen
class Exact:
    """Equal or different.

    >>> Exact()("DE1", "DE1"), Exact()("DE1", "DE2"), Exact()(None, "DE2")
    (0, 1, -1)
    """

    levels: tuple[str, ...] = ("exact", "different")

    def exact_keys(self, value: Hashable | None) -> tuple[Hashable, ...]:
        """What must be equal for the first level; lets u be counted, not sampled."""
        return (value,) if value else ()

    def __call__(self, a: Hashable | None, b: Hashable | None, /) -> int:
        """0 when equal, 1 when not, ``NULL`` when either is empty."""
        if not a or not b:
            return NULL
        return 0 if a == b else 1


def _level_names(thresholds: tuple[float, ...]) -> tuple[str, ...]:
    return ("exact", *(f"similar>={t:g}" for t in thresholds), "different")


@attrs.frozen
class Similarity:
    """Exact, then similar at each threshold (highest first), then different.

    ``scorer`` returns a similarity in 0..1; the default is Jaro-Winkler from
    rapidfuzz, which forgives typos and favours agreement at the start.

    >>> compare = Similarity((0.95, 0.85))
    >>> compare.levels
    ('exact', 'similar>=0.95', 'similar>=0.85', 'different')
    >>> compare("mueller", "mueller"), compare("mueller", "mueler"), compare("mueller", "schmidt")
    (0, 1, 3)
    """

    thresholds: tuple[float, ...] = (0.95, 0.88)
    scorer: Callable[[str, str], float] = JaroWinkler.normalized_similarity
    levels: tuple[str, ...] = attrs.field(init=False)

    @levels.default
    def _levels(self) -> tuple[str, ...]:
        return _level_names(self.thresholds)

    def exact_keys(self, value: str | None) -> tuple[str, ...]:
        """What must be equal for the first level; lets u be counted, not sampled."""
        return (value,) if value else ()

    def __call__(self, a: str | None, b: str | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if not a or not b:
            return NULL
        if a == b:
            return 0
        score = self.scorer(a, b)
        for index, threshold in enumerate(self.thresholds, start=1):
            if score >= threshold:
                return index
        return len(self.thresholds) + 1


@attrs.frozen
class AnyShared:
    """For sets of values (emails, phones): one value in common, or none.

    >>> AnyShared()(frozenset({"a", "b"}), frozenset({"b"})), AnyShared()(frozenset(), {"b"})
    (0, -1)
    """

    levels: tuple[str, ...] = ("shared", "different")

    def exact_keys(self, value: Set[Hashable] | None) -> Set[Hashable]:
        """What must be shared for the first level; lets u be counted, not sampled."""
        return value or frozenset()

    def __call__(self, a: Set[Hashable] | None, b: Set[Hashable] | None, /) -> int:
        """0 when the sets meet, 1 when they do not, ``NULL`` when either is empty."""
        if not a or not b:
            return NULL
        return 1 if a.isdisjoint(b) else 0


@attrs.frozen
class DateComparator:
    """Dates: exact, day and month transposed or one digit mistyped, close, different.

    >>> compare = DateComparator(close_days=30)
    >>> d = date(1980, 3, 4)
    >>> compare(d, d), compare(d, date(1980, 4, 3)), compare(d, date(1980, 3, 14))
    (0, 1, 1)
    >>> compare(d, date(1980, 3, 30)), compare(d, date(1990, 3, 4)), compare(d, date(1999, 9, 9))
    (2, 1, 3)
    """

    close_days: int = 30
    levels: tuple[str, ...] = ("exact", "transposed or typo", "close", "different")

    def __call__(self, a: date | None, b: date | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if a is None or b is None:
            return NULL
        if a == b:
            return 0
        if _transposed(a, b) or DamerauLevenshtein.distance(a.isoformat(), b.isoformat()) <= 1:
            return 1
        return 2 if abs(a - b) <= timedelta(days=self.close_days) else 3


def _transposed(a: date, b: date) -> bool:
    return a.year == b.year and a.month == b.day and a.day == b.month


@attrs.frozen
class Numeric:
    """Numbers: equal, within each relative tolerance (tightest first), different.

    >>> compare = Numeric((0.01, 0.1))
    >>> compare(100, 100), compare(100, 100.5), compare(100, 95), compare(100, 50), compare(None, 1)
    (0, 1, 2, 3, -1)
    """

    tolerances: tuple[float, ...] = (0.01, 0.1)
    levels: tuple[str, ...] = attrs.field(init=False)

    @levels.default
    def _levels(self) -> tuple[str, ...]:
        return ("exact", *(f"within {t:.0%}" for t in self.tolerances), "different")

    def __call__(self, a: float | None, b: float | None, /) -> int:
        """The level of ``a`` against ``b``."""
        if a is None or b is None:
            return NULL
        if a == b:
            return 0
        gap = abs(a - b) / max(abs(a), abs(b))
        for index, tolerance in enumerate(self.tolerances, start=1):
            if gap <= tolerance:
                return index
        return len(self.tolerances) + 1
