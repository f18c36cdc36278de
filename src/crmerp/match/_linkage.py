"""The matching pipeline: features, blocking, comparison, estimation, scoring."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from crmerp.match._blocking import dedupe_candidates, link_candidates
from crmerp.match._estimate import Override, Parameters, estimate, measure_u
from crmerp.match._exclusive import exclusive
from crmerp.match._frequencies import term_frequencies
from crmerp.match._scoring import ScoredPair, Scorer
from crmerp.match._spec import Features, MatchSpec

__all__ = ["Linkage", "Settings", "link_records"]


@attrs.frozen
class Settings:
    """How much work matching does, and how it estimates.

    ``max_block_pairs`` caps the pairs one blocking key may produce;
    ``u_sample_pairs`` is the size of the random sample u is measured on; an
    estimation session needs ``min_session_pairs`` candidate pairs, and without
    any, m keeps the spec's starting values and ``expected_overlap`` (the share
    of the smaller side expected to have a partner) sets the prior, at most 1%;
    ``prior``,
    when set, fixes the chance that two random records match instead of
    estimating it; ``seed`` makes the sample, and so every result, repeatable.
    Comparisons with term frequencies are adjusted only when the records
    matched number at least ``term_frequency_min_records``: fewer say little
    of how common a value is. ``one_partner`` (linking two systems only) turns
    pairwise odds into the chance that a candidate is the record's one partner,
    given its rivals (see :mod:`crmerp.match._exclusive`).
    """

    max_block_pairs: int = 400
    u_sample_pairs: int = 30_000
    min_session_pairs: int = 50
    expected_overlap: float = 0.5
    prior: float | None = None
    seed: int = 0
    term_frequency_min_records: int = 1000
    one_partner: bool = True


@attrs.frozen
class Linkage:
    """Every compared pair with its score, and how it was reached.

    ``candidates`` counts the pairs blocking proposed (and so the comparisons
    made); ``oversized_blocks`` the blocking keys dropped as too common.
    """

    pairs: list[ScoredPair]
    parameters: Parameters
    candidates: int
    oversized_blocks: int


def link_records(
    spec: MatchSpec,
    left: Sequence[Any],
    right: Sequence[Any] | None = None,
    *,
    settings: Settings | None = None,
    overrides: Sequence[Override] = (),
    parameters: Parameters | None = None,
    rejected: frozenset[tuple[str, str]] = frozenset(),
) -> Linkage:
    """Score candidate pairs between ``left`` and ``right``, or within ``left``.

    Records need an ``id``; ``right=None`` deduplicates ``left``. Given
    ``parameters`` are used as they are; otherwise they are estimated from
    these records (see :mod:`crmerp.match._estimate`). ``rejected`` pairs of
    ids (a person said they differ) are left out of the scored pairs.
    """
    settings = settings or Settings()
    with _collector_paused():
        return _link(spec, left, right, settings, overrides, parameters, rejected)


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Matching makes millions of small acyclic objects (features, keys, pairs),
    # which reference counting frees; the cyclic collector would only walk the
    # caller's heap again and again, doubling the run time on a large one.
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _link(
    spec: MatchSpec,
    left: Sequence[Any],
    right: Sequence[Any] | None,
    settings: Settings,
    overrides: Sequence[Override],
    parameters: Parameters | None,
    rejected: frozenset[tuple[str, str]],
) -> Linkage:
    left_features = [spec.features(r) for r in left]
    right_features = None if right is None else [spec.features(r) for r in right]
    left_keys = [list(spec.blocking_keys(f)) for f in left_features]
    if right_features is None:
        blocked = dedupe_candidates(left_keys, settings.max_block_pairs)
    else:
        right_keys = [list(spec.blocking_keys(f)) for f in right_features]
        blocked = link_candidates(left_keys, right_keys, settings.max_block_pairs)
    other = left_features if right_features is None else right_features
    compared = [(i, j, spec.compare(left_features[i], other[j])) for i, j in blocked.pairs]
    if parameters is None:
        parameters = _estimate(spec, left_features, right_features, compared, settings, overrides)
    adjustments = {
        k: term_frequencies(c, left_features, right_features, parameters.u[c.name][0])
        for k, c in enumerate(spec.comparisons)
        if c.term_frequencies
        and len(left_features) + len(right_features or ()) >= settings.term_frequency_min_records
    }
    scorer = Scorer(spec, parameters, adjustments)
    right_ids = [r.id for r in (left if right is None else right)]
    pairs = scorer.score(compared, [r.id for r in left], right_ids)
    if rejected:
        pairs = [p for p in pairs if (p.left, p.right) not in rejected]
    if right is not None and settings.one_partner:
        pairs = exclusive(pairs, parameters.prior, (len(left), len(right)))
    return Linkage(pairs, parameters, len(blocked.pairs), blocked.oversized)


def _estimate(
    spec: MatchSpec,
    left: Sequence[Features],
    right: Sequence[Features] | None,
    compared: Sequence[tuple[int, int, tuple[int, ...]]],
    settings: Settings,
    overrides: Sequence[Override],
) -> Parameters:
    measured = measure_u(spec, left, right, settings.u_sample_pairs, settings.seed)
    smaller = len(left) if right is None else min(len(left), len(right))
    return estimate(
        spec,
        Counter(pattern for _, _, pattern in compared),
        measured,
        overrides,
        prior=settings.prior,
        default_matches=max(settings.expected_overlap * smaller, 1.0),
        min_session_pairs=settings.min_session_pairs,
    )
