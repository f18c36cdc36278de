"""Finding duplicates within one system: scored pairs grouped into clusters."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from crmerp._errors import UsageError
from crmerp.match._decide import Thresholds
from crmerp.match._estimate import Override, Parameters
from crmerp.match._linkage import Settings, link_records
from crmerp.match._matcher import default_specs
from crmerp.match._scoring import ScoredPair
from crmerp.match._spec import MatchSpec
from crmerp.models import CanonicalModel

__all__ = ["DEDUPE_THRESHOLDS", "Deduplication", "deduplicate"]


@attrs.frozen
class Deduplication:
    """Duplicates found in one system.

    ``clusters`` groups record ids joined by pairs in the link band (each
    cluster has two or more ids, sorted); ``pairs`` are those pairs and
    ``reviews`` the pairs in the review band, strongest first. ``parameters``
    can be passed back in to score later batches the same way.
    """

    clusters: tuple[tuple[str, ...], ...]
    pairs: tuple[ScoredPair, ...]
    reviews: tuple[ScoredPair, ...]
    parameters: Parameters
    candidates: int


DEDUPE_THRESHOLDS = Thresholds(link=0.999)
"""Deduplication's default bands: on the benchmark's customers, links at 0.999
were 99.97% right, at 0.95 99.88%."""


def deduplicate(
    records: Sequence[CanonicalModel],
    *,
    thresholds: Thresholds | None = None,
    spec: MatchSpec | None = None,
    overrides: Sequence[Override] = (),
    parameters: Parameters | None = None,
    settings: Settings | None = None,
) -> Deduplication:
    """Find the records of one system that are the same entity.

    The spec defaults to the built-in one of the records' entity (customers or
    products). Clusters are the connected groups of link-band pairs.
    ``thresholds`` default to :data:`DEDUPE_THRESHOLDS`, whose link band starts
    at 0.999, higher than matching two systems: within one system no record is
    known to have at most one partner, and one wrong pair joins two clusters.

    >>> from crmerp.models import Customer
    >>> found = deduplicate([
    ...     Customer(id="1", name="Acme GmbH", emails=["info@acme.de"]),
    ...     Customer(id="2", name="ACME G.m.b.H.", emails=["Info@acme.de"]),
    ...     Customer(id="3", name="Umbrella Corp", emails=["info@umbrella.com"]),
    ... ])
    >>> found.clusters
    (('1', '2'),)
    """
    if not records:
        return Deduplication((), (), (), parameters or Parameters({}, {}, 0.5), 0)
    spec = spec or _spec_for(records[0])
    thresholds = thresholds or DEDUPE_THRESHOLDS
    linkage = link_records(
        spec,
        records,
        None,
        settings=settings or Settings(),
        overrides=overrides,
        parameters=parameters,
    )
    ranked = sorted(linkage.pairs, key=lambda p: (-p.weight, p.left, p.right))
    links = tuple(p for p in ranked if p.probability >= thresholds.link)
    reviews = tuple(p for p in ranked if thresholds.review <= p.probability < thresholds.link)
    return Deduplication(_clusters(links), links, reviews, linkage.parameters, linkage.candidates)


def _spec_for(record: CanonicalModel) -> MatchSpec:
    spec = default_specs().get(record.entity)
    if spec is None:
        raise UsageError(
            f"no built-in match spec for entity {record.entity!r}; pass spec=",
            code="match-spec",
        )
    return spec


def _clusters(pairs: Sequence[ScoredPair]) -> tuple[tuple[str, ...], ...]:
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in pairs:
        a, b = root(pair.left), root(pair.right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for node in parent:
        groups.setdefault(root(node), []).append(node)
    return tuple(sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1))
