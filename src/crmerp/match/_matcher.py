"""The probabilistic matcher the sync engine calls for customers and products."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crmerp.match._customer import customer_spec
from crmerp.match._decide import Thresholds, decide
from crmerp.match._estimate import Override, Parameters
from crmerp.match._linkage import Linkage, Settings, link_records
from crmerp.match._product import product_spec
from crmerp.match._protocol import MatchDecisions
from crmerp.match._spec import MatchSpec
from crmerp.models import CanonicalModel

__all__ = ["ProbabilisticMatcher", "default_specs"]


def default_specs() -> dict[str, MatchSpec]:
    """The built-in specs: ``customer`` and ``product``."""
    return {"customer": customer_spec(), "product": product_spec()}


class ProbabilisticMatcher:
    """Fellegi-Sunter matching with blocking, EM estimation and three bands.

    Implements :class:`~crmerp.match.Matcher`. For each entity it has a spec
    for (by default ``customer`` and ``product``) it blocks, compares, estimates
    m and u from the records themselves unless ``parameters`` are given for the
    entity, and decides: links (one-to-one) at or above ``thresholds.link``,
    review items down to ``thresholds.review``, the rest new. Other entities get
    empty decisions.

    >>> from crmerp.models import Customer
    >>> crm = [Customer(id="c1", name="Acme GmbH", tax_id="DE136695976")]
    >>> erp = [Customer(id="e9", name="ACME Gesellschaft mit beschränkter Haftung",
    ...                 tax_id="DE 136 695 976")]
    >>> ProbabilisticMatcher().match("customer", crm, erp).links
    (('c1', 'e9'),)
    """

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        *,
        specs: Mapping[str, MatchSpec] | None = None,
        overrides: Mapping[str, Sequence[Override]] | None = None,
        parameters: Mapping[str, Parameters] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.specs = dict(specs) if specs is not None else default_specs()
        self.overrides = dict(overrides or {})
        self.parameters = dict(parameters or {})
        self.settings = settings or Settings()

    def link(
        self,
        entity: str,
        crm: Sequence[CanonicalModel],
        erp: Sequence[CanonicalModel],
        rejected: frozenset[tuple[str, str]] = frozenset(),
    ) -> Linkage | None:
        """Every candidate pair scored and explained; ``None`` for an entity without spec.

        ``rejected`` pairs are left out, so they stand in no other pair's way.
        """
        spec = self.specs.get(entity)
        if spec is None:
            return None
        return link_records(
            spec,
            crm,
            erp,
            settings=self.settings,
            overrides=self.overrides.get(entity, ()),
            parameters=self.parameters.get(entity),
            rejected=rejected,
        )

    def match(
        self,
        entity: str,
        crm: Sequence[CanonicalModel],
        erp: Sequence[CanonicalModel],
        rejected: frozenset[tuple[str, str]] = frozenset(),
    ) -> MatchDecisions:
        """Links and review items for these unlinked records; ids are native ids."""
        if not crm or not erp:
            return MatchDecisions()
        linkage = self.link(entity, crm, erp, rejected)
        if linkage is None:
            return MatchDecisions()
        return decide(linkage.pairs, self.thresholds, rejected)
