"""Deduplicating one system on its own."""

import pytest

from crmerp import UsageError
from crmerp.match import ExactKeyMatcher, Thresholds, deduplicate
from crmerp.models import Customer, Invoice
from tests.match.synthetic import Systems


def test_duplicates_within_one_system_form_clusters(customers: Systems) -> None:
    erp_of = dict(customers.truth)
    by_id = {c.id: c for c in customers.erp}
    # One system holding both copies of 150 customers, plus 150 records seen once.
    records = [by_id[erp_of[c.id]] for c in customers.crm[:150] if c.id in erp_of]
    records += customers.crm[:300]
    found = deduplicate(records)
    expected = {tuple(sorted((c, e))) for c, e in customers.truth if c in {r.id for r in records}}
    expected = {pair for pair in expected if pair[1] in {r.id for r in records}}
    clustered = {pair for cluster in found.clusters for pair in _pairs(cluster)}
    assert clustered
    assert clustered <= expected  # no wrong merge
    assert len(clustered) / len(expected) > 0.85


def _pairs(cluster: tuple[str, ...]) -> set[tuple[str, ...]]:
    return {tuple(sorted((a, b))) for a in cluster for b in cluster if a < b}


def test_nothing_to_deduplicate() -> None:
    assert deduplicate([]).clusters == ()
    lone = deduplicate([Customer(name="Solo Ltd"), Customer(name="Other Inc")])
    assert lone.clusters == ()


def test_an_entity_without_a_built_in_spec_needs_one() -> None:
    invoice = Invoice(customer_id="c", currency="EUR")
    with pytest.raises(UsageError, match="no built-in match spec"):
        deduplicate([invoice])


def test_the_exact_key_matcher_still_links_shared_keys() -> None:
    crm = [Customer(id="c1", name="A", tax_id="DE136695976")]
    erp = [Customer(id="e1", name="B", tax_id="DE136695976")]
    assert ExactKeyMatcher().match("customer", crm, erp).links == (("c1", "e1"),)


def test_deduplicating_links_only_what_matching_two_systems_would_at_0_999(
    customers: Systems,
) -> None:
    # Within one system nothing says a record has at most one partner, so the
    # link band starts higher than between two systems.
    found = deduplicate([*customers.crm, *customers.erp])
    assert found.pairs
    assert min(p.probability for p in found.pairs) >= 0.999
    doubtful = [p for p in found.reviews if p.probability >= Thresholds().link]
    assert doubtful  # pairs two-system matching would link go to review here
