"""Blocking: compare only records that share a key, never the cross product."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import attrs

__all__ = ["CandidatePairs", "dedupe_candidates", "link_candidates"]


@attrs.frozen
class CandidatePairs:
    """Pairs of record positions to compare, and the blocks left out as too large.

    ``pairs`` are ``(left, right)`` positions, sorted. ``oversized`` counts keys
    whose block would have produced more than ``max_block_pairs`` pairs; such a
    key is too common to tell records apart (a frequent name) and other keys
    must bring its true matches together.
    """

    pairs: list[tuple[int, int]]
    oversized: int = 0


def _index(keys: Sequence[Iterable[str]]) -> dict[str, list[int]]:
    index: defaultdict[str, list[int]] = defaultdict(list)
    for position, record_keys in enumerate(keys):
        for key in dict.fromkeys(record_keys):
            index[key].append(position)
    return index


def link_candidates(
    left: Sequence[Iterable[str]], right: Sequence[Iterable[str]], max_block_pairs: int = 400
) -> CandidatePairs:
    """Pairs of a left and a right record sharing at least one blocking key.

    >>> link_candidates([["a", "b"], ["c"]], [["b"], ["c", "a"]]).pairs
    [(0, 0), (0, 1), (1, 1)]
    """
    right_index = _index(right)
    width = len(right)
    found: set[int] = set()
    oversized = 0
    for key, lefts in _index(left).items():
        rights = right_index.get(key)
        if not rights:
            continue
        if len(lefts) * len(rights) > max_block_pairs:
            oversized += 1
            continue
        found.update(i * width + j for i in lefts for j in rights)
    return CandidatePairs([divmod(code, width) for code in sorted(found)], oversized)


def dedupe_candidates(keys: Sequence[Iterable[str]], max_block_pairs: int = 400) -> CandidatePairs:
    """Pairs ``(i, j)`` with ``i < j`` of records in one system sharing a key.

    >>> dedupe_candidates([["a"], ["a", "b"], ["b"], ["c"]]).pairs
    [(0, 1), (1, 2)]
    """
    width = len(keys)
    found: set[int] = set()
    oversized = 0
    for block in _index(keys).values():
        size = len(block)
        if size < 2:
            continue
        if size * (size - 1) // 2 > max_block_pairs:
            oversized += 1
            continue
        found.update(i * width + j for i in block for j in block if i < j)
    return CandidatePairs([divmod(code, width) for code in sorted(found)], oversized)
