"""Fellegi-Sunter parameters and their estimation without labels.

``u`` (how often unrelated records agree at each level) is measured on a seeded
random sample of all pairs; for exact agreement, which a sample rarely sees, it
is counted over all pairs from value frequencies instead. ``m`` (how often true
matches agree) is fitted by expectation-maximisation in sessions: each session
takes the candidate pairs that agree on one comparison (say, exactly the same
name) and fits the other comparisons' m, with u held. Conditioning on one
comparison leaves the others unbiased, which fitting on all blocked pairs
would not. The sessions also tell how many true matches there are, and so the
prior. Estimation is MAP: the spec's starting values act as a few
pseudo-observations, so small inputs fall back on them. The same data always
gives the same parameters.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import UsageError
from crmerp.match._comparators import NULL
from crmerp.match._spec import Comparison, Features, MatchSpec

__all__ = ["Override", "Parameters", "UEstimate", "estimate", "measure_u"]

_PSEUDO_PAIRS = 10.0
_FLOOR = 1e-12
_MAX_DEFAULT_PRIOR = 0.01
_U_ROUNDS = 3
_MAX_COUNTED_PAIRS = 2_000_000


@attrs.frozen
class Override:
    """Fix m and/or u of one level of one comparison instead of estimating it.

    >>> Override("tax_id", "exact", m=0.98, u=1e-7)
    Override(comparison='tax_id', level='exact', m=0.98, u=1e-07)
    """

    comparison: str
    level: str
    m: float | None = None
    u: float | None = None


@attrs.frozen
class Parameters:
    """m and u per comparison level, and the prior chance that two records match.

    ``prior`` is the chance that two records drawn at random, one from each
    side, are the same entity. ``weight`` gives ``log2(m / u)``: what a level
    adds to (or, when negative, takes from) a pair's match weight.
    """

    m: Mapping[str, tuple[float, ...]]
    u: Mapping[str, tuple[float, ...]]
    prior: float
    expected_matches: float = 0.0

    def weight(self, comparison: str, level: int) -> float:
        """What ``level`` of ``comparison`` adds to the match weight; 0 for ``NULL``."""
        if level == NULL:
            return 0.0
        return math.log2(self.m[comparison][level] / self.u[comparison][level])

    def prior_weight(self) -> float:
        """The prior odds of a match, in bits."""
        return math.log2(self.prior / (1.0 - self.prior))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for keeping learned parameters between runs."""
        return {
            "m": {k: list(v) for k, v in self.m.items()},
            "u": {k: list(v) for k, v in self.u.items()},
            "prior": self.prior,
            "expected_matches": self.expected_matches,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameters:
        """Read what :meth:`to_dict` wrote."""
        return cls(
            m={k: tuple(map(float, v)) for k, v in data["m"].items()},
            u={k: tuple(map(float, v)) for k, v in data["u"].items()},
            prior=float(data["prior"]),
            expected_matches=float(data.get("expected_matches", 0.0)),
        )


@attrs.frozen
class UEstimate:
    """u measured on the data: per-level shares, plus exact-agreement counts.

    ``exact_agreements`` counts, for comparisons whose comparator can tell, the
    pairs among all ``total_pairs`` that agree exactly; true matches are among
    them, and are taken out once their number is estimated. ``sample`` counts
    the random pairs by comparison vector: the few true matches a random sample
    holds are taken out of it the same way, by their estimated chance of being
    a match. ``coincidences`` holds, when two systems are linked, for each
    level a comparator has keys for, the pairs within each system that agree
    at that level and the pairs there are: within one system, agreement is
    coincidence.
    """

    u: dict[str, tuple[float, ...]]
    exact_agreements: dict[str, float]
    total_pairs: int
    sample: Mapping[tuple[int, ...], int] = attrs.field(factory=dict)
    coincidences: dict[str, dict[int, tuple[float, float]]] = attrs.field(factory=dict)


def measure_u(
    spec: MatchSpec,
    left: Sequence[Features],
    right: Sequence[Features] | None,
    pairs: int,
    seed: int = 0,
) -> UEstimate:
    """Measure u on ``pairs`` random pairs (all pairs when there are fewer).

    ``right=None`` measures pairs within ``left`` (deduplication).
    """
    other = left if right is None else right
    same = right is None
    total = len(left) * (len(left) - 1) // 2 if same else len(left) * len(other)
    sample = Counter(
        spec.compare(left[i], other[j])
        for i, j in _random_pairs(len(left), len(other), pairs, seed, same=same)
    )
    keyed = [c for c in spec.comparisons if hasattr(c.comparator, "exact_keys")]
    if right is None:
        exact = {c.name: _agreements_within(c, left) for c in keyed}
        coincidences = {}
    else:
        counted = {c.name: (_counters(c, left), _counters(c, right)) for c in keyed}
        exact = {name: _agreements_across(*sides) for name, sides in counted.items()}
        coincidences = {
            name: _coincidences(sides, (len(left), len(right))) for name, sides in counted.items()
        }
    return UEstimate(_sampled_u(spec, sample.items()), exact, total, sample, coincidences)


def _counters(comparison: Comparison, records: Sequence[Features]) -> dict[int, Counter[Hashable]]:
    comparator, feature = comparison.comparator, comparison.feature
    if not hasattr(comparator, "level_keys"):
        keys = comparator.exact_keys  # type: ignore[attr-defined]
        return {0: Counter(k for r in records for k in keys(r[feature]))}
    keyed: dict[int, list[Hashable]] = {}
    for record in records:
        for level, found in comparator.level_keys(record[feature]).items():
            keyed.setdefault(level, []).extend(found)
    return {level: Counter(found) for level, found in keyed.items()}


def _agreements_across(
    left: Mapping[int, Counter[Hashable]], right: Mapping[int, Counter[Hashable]]
) -> float:
    # A pair sharing two keys (two addresses, two phones) counts twice: this
    # count only bounds u from below, where more is the safe side.
    lefts, rights = left.get(0, Counter()), right.get(0, Counter())
    return float(sum(n * rights[k] for k, n in lefts.items() if k in rights))


def _coincidences(
    sides: tuple[Mapping[int, Counter[Hashable]], ...], sizes: tuple[int, ...]
) -> dict[int, tuple[float, float]]:
    # Each system on its own holds each customer once, so two of its records that
    # agree do so by chance: the share of such pairs is u, untouched by true
    # matches. Duplicates within a system, or a pair sharing two keys, only make
    # it larger, which is safe.
    pairs = float(sum(n * (n - 1) // 2 for n in sizes))
    levels = {level for side in sides for level in side}
    return {
        level: (
            float(sum(n * (n - 1) // 2 for side in sides for n in side.get(level, {}).values())),
            pairs,
        )
        for level in levels
    }


def _sampled_u(
    spec: MatchSpec, weighted: Iterable[tuple[tuple[int, ...], float]]
) -> dict[str, tuple[float, ...]]:
    counts = [[0.0] * len(c.levels) for c in spec.comparisons]
    for pattern, weight in weighted:
        for k, level in enumerate(pattern):
            if level != NULL:
                counts[k][level] += weight
    return {
        c.name: _smoothed(counts[k], c.u, strength=_PSEUDO_PAIRS * 100)
        for k, c in enumerate(spec.comparisons)
    }


def _agreements_within(comparison: Comparison, records: Sequence[Features]) -> float:
    keys = comparison.comparator.exact_keys  # type: ignore[attr-defined]
    found = [keys(r[comparison.feature]) for r in records]
    counts = Counter(k for record_keys in found for k in record_keys)
    total = sum(n * (n - 1) // 2 for n in counts.values())
    if total > _MAX_COUNTED_PAIRS or all(len(record_keys) <= 1 for record_keys in found):
        return float(total)  # one key per record, or too many pairs to list: count
    # Records with several keys (two addresses, two phones) may share more than
    # one with the same partner: list the pairs so each is counted once, as true
    # matches, counted once, are taken out of this number.
    return float(len(_pairs_sharing_a_key(found)))


def _pairs_sharing_a_key(found: Sequence[Collection[Hashable]]) -> set[tuple[int, int]]:
    index: dict[Hashable, list[int]] = {}
    for position, record_keys in enumerate(found):
        for key in record_keys:
            index.setdefault(key, []).append(position)
    return {(i, j) for block in index.values() for i in block for j in block if i < j}


def _random_pairs(n: int, m: int, wanted: int, seed: int, *, same: bool) -> list[tuple[int, int]]:
    total = n * (n - 1) // 2 if same else n * m
    if total <= wanted:
        if same:
            return [(i, j) for i in range(n) for j in range(i + 1, n)]
        return [(i, j) for i in range(n) for j in range(m)]
    rng = random.Random(seed)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < wanted:
        drawn = zip(rng.choices(range(n), k=wanted), rng.choices(range(m), k=wanted), strict=True)
        pairs.extend((i, j) for i, j in drawn if not same or i != j)
    return pairs[:wanted]


def _smoothed(
    counts: Sequence[float], start: Sequence[float], strength: float
) -> tuple[float, ...]:
    total = sum(counts) + strength
    return tuple(
        max((c + strength * s) / total, _FLOOR) for c, s in zip(counts, start, strict=True)
    )


def estimate(
    spec: MatchSpec,
    patterns: Mapping[tuple[int, ...], int],
    measured: UEstimate,
    overrides: Sequence[Override] = (),
    *,
    prior: float | None = None,
    default_matches: float | None = None,
    min_session_pairs: int = 50,
) -> Parameters:
    """Fit m by EM sessions on the candidates' comparison vectors, and the prior.

    ``patterns`` counts candidate pairs by comparison vector. ``prior``, when
    given, is used as it is. Where no session has ``min_session_pairs`` pairs,
    m keeps its starting values and ``default_matches`` (or a third of the
    smaller side) stands for the number of true matches, with the prior then
    capped at 1%. Overridden levels keep
    their values throughout.
    """
    pins = _pins(spec, overrides)
    u = [measured.u[c.name] for c in spec.comparisons]
    for _ in range(_U_ROUNDS):
        fit = _fit(spec, patterns, measured, u, pins, default_matches, min_session_pairs)
        share = prior if prior is not None else _clamp(fit.matches / max(measured.total_pairs, 1))
        if prior is None and not fit.sessions:
            # Nothing estimated: a tiny input is no haystack, so the default prior is
            # capped, and a name alone never links.
            share = min(share, _MAX_DEFAULT_PRIOR)
        if not measured.sample:
            break
        # The random sample holds a few true matches, and at the strong levels
        # (the same address, a near-equal name) they outnumber the coincidences
        # u is meant to count. Count each sampled pair by its chance of being none.
        cleaned = _sampled_u(spec, _non_match_weights(measured.sample, fit.m, fit.u, share))
        u = [cleaned[c.name] for c in spec.comparisons]
    names = [c.name for c in spec.comparisons]
    return Parameters(
        m=dict(zip(names, fit.m, strict=True)),
        u=dict(zip(names, fit.u, strict=True)),
        prior=share,
        expected_matches=fit.matches,
    )


@attrs.frozen
class _Fit:
    m: list[tuple[float, ...]]
    u: list[tuple[float, ...]]
    matches: float
    sessions: int


def _fit(
    spec: MatchSpec,
    patterns: Mapping[tuple[int, ...], int],
    measured: UEstimate,
    u: Sequence[tuple[float, ...]],
    pins: Mapping[tuple[int, int], Override],
    default_matches: float | None,
    min_session_pairs: int,
) -> _Fit:
    fitted: list[list[tuple[float, ...]]] = [[] for _ in spec.comparisons]
    counts: list[tuple[int, int, float]] = []
    for k, level in _session_levels(spec):
        session = {p: n for p, n in patterns.items() if p[k] == level}
        if sum(session.values()) < min_session_pairs:
            continue
        m, share = _em(spec, session, u, skip=k)
        for other, values in enumerate(m):
            if other != k:
                fitted[other].append(values)
        counts.append((k, level, share * sum(session.values())))
    m_all = _pinned(
        [_mean(found) if found else c.m for found, c in zip(fitted, spec.comparisons, strict=True)],
        pins,
        "m",
    )
    matches = _matches(counts, m_all, default_matches, measured.total_pairs)
    u_all = _pinned(_corrected_u(spec, u, m_all, measured, matches), pins, "u")
    return _Fit(m_all, u_all, matches, len(counts))


def _non_match_weights(
    sample: Mapping[tuple[int, ...], int],
    m: Sequence[tuple[float, ...]],
    u: Sequence[tuple[float, ...]],
    prior: float,
) -> Iterator[tuple[tuple[int, ...], float]]:
    log_prior = math.log(prior / (1.0 - prior))
    for pattern, count in sample.items():
        logit = log_prior + sum(
            math.log(m[k][level] / u[k][level]) for k, level in enumerate(pattern) if level != NULL
        )
        yield pattern, count * (1.0 - (1.0 / (1.0 + math.exp(-logit)) if logit < 700 else 1.0))


def _session_levels(spec: MatchSpec) -> Iterable[tuple[int, int]]:
    for name, level in spec.sessions:
        comparison = spec.comparison(name)
        yield spec.comparisons.index(comparison), comparison.levels.index(level)


def _mean(values: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(sum(column) / len(values) for column in zip(*values, strict=True))


def _matches(
    counts: Sequence[tuple[int, int, float]],
    m: Sequence[tuple[float, ...]],
    default: float | None,
    total_pairs: int,
) -> float:
    # A session saw the matches that agree on its comparison: divide by that share.
    estimates = [found / m[k][level] for k, level, found in counts]
    if estimates:
        return sum(estimates) / len(estimates)
    if default is not None:
        return default
    return max(1.0, math.sqrt(total_pairs) / 3)


def _corrected_u(
    spec: MatchSpec,
    u: Sequence[tuple[float, ...]],
    m: Sequence[tuple[float, ...]],
    measured: UEstimate,
    matches: float,
) -> list[tuple[float, ...]]:
    result = []
    for k, c in enumerate(spec.comparisons):
        counted = dict(measured.coincidences.get(c.name, {}))
        agreements = measured.exact_agreements.get(c.name)
        if agreements is not None:
            # At least 1% of exact agreements are taken as coincidences, so one shared
            # identifier never outweighs everything else. Deduplicating, the rest
            # of the agreements are what the estimated matches leave.
            chance = 0.01 * agreements
            if not counted:
                chance = max(agreements - matches * m[k][0], chance)
            others = max(measured.total_pairs - matches, 0.0)
            within = counted.get(0)
            if within is None or _share(within) < _share((chance, others)):
                counted[0] = (chance, others)
        result.append(_counted_u(c, u[k], counted) if counted else u[k])
    return result


def _share(counted: tuple[float, float]) -> float:
    return counted[0] / counted[1] if counted[1] else 1.0


def _counted_u(
    comparison: Comparison, sampled: tuple[float, ...], counted: Mapping[int, tuple[float, float]]
) -> tuple[float, ...]:
    # A level's key is shared by the pairs at that level and by some at stronger
    # ones: what stronger keyed levels took is taken off. Levels without keys
    # share the rest as the sample found.
    strength = _PSEUDO_PAIRS * 100
    fixed: dict[int, float] = {}
    for level in sorted(counted):
        agreeing, pairs = counted[level]
        share = (agreeing + strength * comparison.u[level]) / (pairs + strength)
        fixed[level] = max(share - sum(fixed.values()), share / 2, _FLOOR)
    rest = sum(p for level, p in enumerate(sampled) if level not in fixed) or 1.0
    left = 1.0 - sum(fixed.values())
    return tuple(fixed.get(level, p / rest * left) for level, p in enumerate(sampled))


def _em(
    spec: MatchSpec,
    patterns: Mapping[tuple[int, ...], int],
    u: Sequence[tuple[float, ...]],
    skip: int,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
) -> tuple[list[tuple[float, ...]], float]:
    m = [c.m for c in spec.comparisons]
    share = 0.5
    ordered = sorted(patterns.items())
    total = sum(patterns.values())
    log_u = [[math.log(p) for p in levels] for levels in u]
    for _ in range(max_iterations):
        log_m = [[math.log(p) for p in levels] for levels in m]
        counts = [[0.0] * len(levels) for levels in m]
        matched = 0.0
        log_prior = math.log(share / (1 - share))
        for pattern, count in ordered:
            logit = log_prior + sum(
                log_m[k][lv] - log_u[k][lv]
                for k, lv in enumerate(pattern)
                if lv != NULL and k != skip
            )
            weight = count * (1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0)
            matched += weight
            for k, level in enumerate(pattern):
                if level != NULL:
                    counts[k][level] += weight
        new_m = [_smoothed(counts[k], c.m, _PSEUDO_PAIRS) for k, c in enumerate(spec.comparisons)]
        new_share = _clamp(matched / total)
        change = max(
            abs(new_share - share),
            *(
                abs(a - b)
                for old, new in zip(m, new_m, strict=True)
                for a, b in zip(old, new, strict=True)
            ),
        )
        m, share = new_m, new_share
        if change < tolerance:
            break
    return m, share


def _clamp(share: float) -> float:
    return min(max(share, 1e-12), 1 - 1e-6)


def _pins(spec: MatchSpec, overrides: Sequence[Override]) -> dict[tuple[int, int], Override]:
    pins: dict[tuple[int, int], Override] = {}
    for override in overrides:
        try:
            comparison = spec.comparison(override.comparison)
            k = spec.comparisons.index(comparison)
            level = comparison.levels.index(override.level)
        except (KeyError, ValueError):
            raise UsageError(
                f"override names no level of {spec.entity}: "
                f"{override.comparison!r} / {override.level!r}",
                code="match-override",
            ) from None
        pins[(k, level)] = override
    return pins


def _pinned(
    values: Sequence[tuple[float, ...]], pins: Mapping[tuple[int, int], Override], which: str
) -> list[tuple[float, ...]]:
    result = []
    for k, levels in enumerate(values):
        fixed = {
            lv: v
            for (kk, lv), o in pins.items()
            if kk == k and (v := getattr(o, which)) is not None
        }
        if not fixed:
            result.append(levels)
            continue
        free = 1.0 - sum(fixed.values())
        rest = sum(p for lv, p in enumerate(levels) if lv not in fixed) or 1.0
        result.append(
            tuple(fixed.get(lv, max(p / rest * free, _FLOOR)) for lv, p in enumerate(levels))
        )
    return result
