"""ProbabilisticMatcher through the Matcher protocol, as the sync engine calls it."""

import pytest

from crmerp import UsageError
from crmerp.match import (
    Linkage,
    MatchDecisions,
    Matcher,
    Override,
    Parameters,
    ProbabilisticMatcher,
    Settings,
    Thresholds,
    link_records,
)
from crmerp.models import Customer, Product
from tests.match.synthetic import Systems


def _quality(decisions: MatchDecisions, truth: set[tuple[str, str]]) -> tuple[float, float]:
    links = set(decisions.links)
    correct = len(links & truth)
    return correct / len(links), correct / len(truth)


def test_it_is_a_matcher() -> None:
    matcher: Matcher = ProbabilisticMatcher()
    assert matcher.match("invoice", [Customer(name="a")], [Customer(name="a")]) == MatchDecisions()


def test_corrupted_customers_link_with_no_wrong_link(customers: Systems) -> None:
    decisions = ProbabilisticMatcher().match("customer", customers.crm, customers.erp)
    precision, recall = _quality(decisions, customers.truth)
    assert precision == 1.0
    assert recall > 0.9


def test_all_three_bands_appear_and_reviews_are_mostly_true_pairs(customers: Systems) -> None:
    decisions = ProbabilisticMatcher().match("customer", customers.crm, customers.erp)
    linked = {c for c, _ in decisions.links}
    reviewed = {r.crm_id for r in decisions.reviews}
    new = {c.id for c in customers.crm} - linked - reviewed
    assert linked
    assert reviewed
    assert new  # CRM-only customers: neither linked nor proposed
    assert not linked & reviewed
    true_reviews = sum((r.crm_id, r.erp_id) in customers.truth for r in decisions.reviews)
    assert true_reviews / len(decisions.reviews) > 0.5
    for review in decisions.reviews:
        assert Thresholds().review <= review.score < Thresholds().link
        assert review.explanation


def test_links_are_one_to_one(customers: Systems) -> None:
    decisions = ProbabilisticMatcher().match("customer", customers.crm, customers.erp)
    crm_ids = [c for c, _ in decisions.links]
    erp_ids = [e for _, e in decisions.links]
    assert len(set(crm_ids)) == len(crm_ids)
    assert len(set(erp_ids)) == len(erp_ids)


def _acme(native_id: str, **changes: object) -> Customer:
    data: dict[str, object] = {
        "id": native_id,
        "name": "Acme Maschinenbau GmbH",
        "tax_id": "DE136695976",
        "emails": ["info@acme-maschinen.de"],
        "addresses": [{"street": "Hauptstraße 5", "postcode": "10115", "city": "Berlin"}],
    }
    data.update(changes)
    return Customer.model_validate(data)


def _others() -> list[Customer]:
    return [
        Customer(id=f"x{i}", name=f"Firma {name} AG", emails=[f"info@{name}.de"])
        for i, name in enumerate(["berg", "tal", "see", "wald"])
    ]


def test_one_erp_customer_never_links_to_two_crm_accounts() -> None:
    crm = [_acme("c1"), _acme("c2", name="ACME Maschinenbau G.m.b.H.")]
    erp = [_acme("e1", name="Acme Maschinenbau Gesellschaft mit beschränkter Haftung")]
    decisions = ProbabilisticMatcher().match("customer", crm, erp)
    # Two near-equal CRM accounts for one ERP customer: a person must choose.
    assert decisions.links == ()
    assert {(r.crm_id, r.erp_id) for r in decisions.reviews} == {("c1", "e1"), ("c2", "e1")}
    without_margin = ProbabilisticMatcher(Thresholds(margin=0.0)).match("customer", crm, erp)
    assert len(without_margin.links) == 1
    assert without_margin.reviews == ()  # the other CRM account's ERP partner is taken


def test_a_rejected_pair_is_not_proposed_again() -> None:
    crm = [_acme("c1"), *_others()]
    erp = [_acme("e1", emails=[]), _acme("e2", tax_id=None, addresses=[])]
    matcher = ProbabilisticMatcher()
    first = matcher.match("customer", crm, erp)
    assert first.links == (("c1", "e1"),)
    again = matcher.match("customer", crm, erp, rejected=frozenset({("c1", "e1")}))
    assert ("c1", "e1") not in again.links
    assert ("c1", "e1") not in {(r.crm_id, r.erp_id) for r in again.reviews}
    assert ("c1", "e2") in set(again.links) | {(r.crm_id, r.erp_id) for r in again.reviews}


def test_explanations_name_the_fields_that_added_and_took_weight() -> None:
    crm = [_acme("c1", tax_id=None, emails=[])]
    erp = [_acme("e1", tax_id=None, emails=[], addresses=[{"city": "München"}])]
    matcher = ProbabilisticMatcher()
    linkage = matcher.link("customer", crm, erp)
    assert linkage is not None
    [pair] = linkage.pairs
    weights = dict(pair.explanation.as_pairs())
    assert weights["name"] > 0
    assert weights["address"] < 0
    assert "tax_id" not in weights  # missing on both sides: no evidence


def test_the_same_records_give_the_same_decisions(customers: Systems) -> None:
    first = ProbabilisticMatcher().match("customer", customers.crm, customers.erp)
    second = ProbabilisticMatcher().match("customer", customers.crm, customers.erp)
    assert first == second


def test_learned_parameters_round_trip_and_can_be_reused(customers: Systems) -> None:
    matcher = ProbabilisticMatcher()
    linkage = matcher.link("customer", customers.crm, customers.erp)
    assert linkage is not None
    learned = Parameters.from_dict(linkage.parameters.to_dict())
    assert learned == linkage.parameters
    reused = ProbabilisticMatcher(parameters={"customer": learned})
    assert reused.match("customer", customers.crm, customers.erp) == matcher.match(
        "customer", customers.crm, customers.erp
    )


def test_overrides_fix_a_level_instead_of_estimating_it(customers: Systems) -> None:
    pinned = Override("tax_id", "exact", m=0.5, u=0.25)
    matcher = ProbabilisticMatcher(overrides={"customer": [pinned]})
    linkage = matcher.link("customer", customers.crm, customers.erp)
    assert linkage is not None
    assert linkage.parameters.m["tax_id"][0] == 0.5
    assert linkage.parameters.u["tax_id"][0] == 0.25
    assert linkage.parameters.weight("tax_id", 0) == 1.0


def test_products_link_across_sku_formats_and_units(products: Systems) -> None:
    decisions = ProbabilisticMatcher().match("product", products.crm, products.erp)
    precision, recall = _quality(decisions, products.truth)
    assert precision == 1.0
    assert recall > 0.9


def test_a_product_with_the_same_gtin_and_sku_links_on_a_small_input() -> None:
    crm = [Product(id="p1", sku="AB-1234", name="Blue Cable 2 m", unit="pcs", gtin="4006381333931")]
    erp = [
        Product(id="9", sku="ab1234", name="CABLE BLUE 2 M", unit="Stück", gtin="4006381333931"),
        Product(id="8", sku="AB-1235", name="Red Cable 2 m", unit="pcs"),
    ]
    assert ProbabilisticMatcher().match("product", crm, erp).links == (("p1", "9"),)


def test_misconfiguration_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="thresholds"):
        Thresholds(link=0.4, review=0.5)
    matcher = ProbabilisticMatcher(overrides={"customer": [Override("tax_id", "fuzzy", m=0.5)]})
    with pytest.raises(UsageError, match="override"):
        matcher.match("customer", [_acme("c1")], [_acme("e1")])


def test_on_a_tiny_input_a_name_alone_is_sent_to_review() -> None:
    crm = [Customer(id="c1", name="Schneider Logistik GmbH")]
    erp = [Customer(id="e1", name="SCHNEIDER LOGISTIK G.m.b.H.")]
    decisions = ProbabilisticMatcher().match("customer", crm, erp)
    assert decisions.links == ()
    assert [(r.crm_id, r.erp_id) for r in decisions.reviews] == [("c1", "e1")]


def test_a_rare_name_in_common_says_more_than_a_common_one(customers: Systems) -> None:
    common = [Customer(id=f"s{i}", name="Schmidt GmbH") for i in range(4)]
    crm = [*customers.crm, Customer(id="c-rare", name="Quirin Zwirnwald", kind="person"), *common]
    erp = [*customers.erp, Customer(id="e-rare", name="Zwirnwald, Quirin", kind="person"), *common]
    linkage = ProbabilisticMatcher().link("customer", crm, erp)
    assert linkage is not None
    name_weight = {(p.left, p.right): dict(p.explanation.as_pairs())["name"] for p in linkage.pairs}
    assert name_weight[("c-rare", "e-rare")] > name_weight[("s0", "s1")] + 10


def test_a_rare_name_alone_links_in_a_large_input_and_a_common_one_does_not(
    customers: Systems,
) -> None:
    crm = [*customers.crm, Customer(id="c-rare", name="Quirin Zwirnwald", kind="person")]
    erp = [*customers.erp, Customer(id="e-rare", name="Zwirnwald, Quirin", kind="person")]
    crm += [Customer(id=f"c-common{i}", name="Weber GmbH") for i in range(3)]
    erp += [Customer(id="e-common", name="WEBER G.m.b.H.")]
    decisions = ProbabilisticMatcher().match("customer", crm, erp)
    assert ("c-rare", "e-rare") in decisions.links
    assert not any(e == "e-common" for _, e in decisions.links)


def _weights(linkage: Linkage | None) -> dict[tuple[str, str], dict[str, float]]:
    assert linkage is not None
    return {(p.left, p.right): dict(p.explanation.as_pairs()) for p in linkage.pairs}


def test_a_record_with_one_candidate_gains_from_having_no_rival(customers: Systems) -> None:
    crm = [*customers.crm, Customer(id="c-rare", name="Quirin Zwirnwald", kind="person")]
    erp = [*customers.erp, Customer(id="e-rare", name="Zwirnwald, Quirin", kind="person")]
    alone = ProbabilisticMatcher(settings=Settings(one_partner=False)).link("customer", crm, erp)
    exclusive = ProbabilisticMatcher().link("customer", crm, erp)
    assert alone is not None
    assert exclusive is not None
    gained = _weights(exclusive)[("c-rare", "e-rare")]["one partner"]
    assert gained > 1.0  # 70% of these records have a partner: a lone candidate is likelier
    pair = {(p.left, p.right): p for p in exclusive.pairs}[("c-rare", "e-rare")]
    before = {(p.left, p.right): p for p in alone.pairs}[("c-rare", "e-rare")]
    assert pair.weight == pytest.approx(before.weight + gained, abs=1e-3)
    assert pair.probability > before.probability


def test_a_candidate_with_a_strong_rival_gains_nothing(customers: Systems) -> None:
    crm = [*customers.crm, _acme("c-acme")]
    erp = [*customers.erp, _acme("e-same"), _acme("e-branch", tax_id=None, emails=[])]
    weights = _weights(ProbabilisticMatcher().link("customer", crm, erp))
    assert "one partner" not in weights[("c-acme", "e-same")]
    assert "one partner" not in weights[("c-acme", "e-branch")]
    decisions = ProbabilisticMatcher().match("customer", crm, erp)
    assert ("c-acme", "e-same") in decisions.links


def test_a_rejected_candidate_is_no_rival(customers: Systems) -> None:
    crm = [*customers.crm, _acme("c-acme", tax_id=None, emails=[])]
    erp = [*customers.erp, _acme("e-1", tax_id=None, emails=[]), _acme("e-2", tax_id=None)]
    matcher = ProbabilisticMatcher()
    rejected = frozenset({("c-acme", "e-1")})
    assert "one partner" not in _weights(matcher.link("customer", crm, erp))[("c-acme", "e-2")]
    weights = _weights(matcher.link("customer", crm, erp, rejected))
    assert ("c-acme", "e-1") not in weights
    assert weights[("c-acme", "e-2")]["one partner"] > 0


def test_deduplicating_one_system_does_not_assume_one_partner(customers: Systems) -> None:
    spec = ProbabilisticMatcher().specs["customer"]
    found = link_records(spec, customers.crm[:200])
    assert all("one partner" not in dict(p.explanation.as_pairs()) for p in found.pairs)


def test_one_name_in_two_countries_is_two_companies(customers: Systems) -> None:
    def nordlicht(native_id: str, street: str, postcode: str, city: str, country: str) -> Customer:
        address = {"street": street, "postcode": postcode, "city": city, "country": country}
        return Customer.model_validate(
            {"id": native_id, "name": "Nordlicht Handels GmbH", "addresses": [address]}
        )

    crm = [*customers.crm, nordlicht("c-de", "Hauptstraße 5", "10115", "Berlin", "DE")]
    erp = [*customers.erp, nordlicht("e-at", "Ringstraße 12", "1010", "Wien", "AT")]
    linkage = ProbabilisticMatcher().link("customer", crm, erp)
    pair = _weights(linkage)[("c-de", "e-at")]
    assert linkage is not None
    levels = ProbabilisticMatcher().specs["customer"].comparison("address").levels
    abroad = linkage.parameters.weight("address", levels.index("another country"))
    elsewhere = linkage.parameters.weight("address", levels.index("different"))
    assert pair["address"] == pytest.approx(abroad, abs=1e-3)
    assert abroad < elsewhere - 3  # the data shows true pairs rarely span two countries
    assert "legal_form" not in pair  # the same name's same form is no more evidence
    decisions = ProbabilisticMatcher().match("customer", crm, erp)
    assert ("c-de", "e-at") not in decisions.links
