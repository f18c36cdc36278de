from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from crmerp.sync import Direction, FieldRule, Policy, Rules, SideView, merge

RULES = Rules.default()
CUSTOMER = RULES.entity("customer")
FIELDS = frozenset({"name", "emails", "credit_limit", "payment_terms", "active"})
BASE = {
    "name": "Acme",
    "emails": ["a@acme.de"],
    "credit_limit": None,
    "payment_terms": "net 30",
    "active": True,
}


def side(
    name: str,
    current: dict | None,
    *,
    stamp: datetime | None = None,
    carried: frozenset[str] = FIELDS,
) -> SideView:
    return SideView(name, carried, current, BASE, stamp)


def test_edits_to_different_fields_on_both_sides_are_both_kept() -> None:
    crm = side("crm", {**BASE, "emails": ["new@acme.de"]})
    erp = side("erp", {**BASE, "payment_terms": "net 60"})
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["emails"] == ["new@acme.de"]
    assert out.result["payment_terms"] == "net 60"
    assert not out.conflicts


def test_same_field_changed_to_the_same_value_is_no_conflict() -> None:
    crm = side("crm", {**BASE, "name": "Acme AG"})
    erp = side("erp", {**BASE, "name": "Acme AG"})
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["name"] == "Acme AG"
    assert not out.conflicts


def test_owner_wins_a_conflict_on_its_field() -> None:
    crm = side("crm", {**BASE, "payment_terms": "net 10"})
    erp = side("erp", {**BASE, "payment_terms": "net 90"})
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["payment_terms"] == "net 90"
    assert [c.rule for c in out.changes] == ["owner:erp"]


def test_park_policy_keeps_the_base_and_reports_the_conflict() -> None:
    crm = side("crm", {**BASE, "name": "Acme GmbH"})
    erp = side("erp", {**BASE, "name": "ACME Holding"})
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["name"] == "Acme"
    assert out.parked == {"name"}
    (conflict,) = out.conflicts
    assert (conflict.crm, conflict.erp, conflict.base) == ("Acme GmbH", "ACME Holding", "Acme")


def test_direction_rejects_a_change_from_the_wrong_side() -> None:
    crm = side("crm", {**BASE, "credit_limit": {"amount": "1000", "currency": "EUR"}})
    erp = side("erp", None)
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["credit_limit"] is None
    assert ("crm", "credit_limit") in out.rejected


def test_latest_uses_the_systems_stamps_and_parks_when_equal() -> None:
    rules = RULES.with_field("customer", "name", FieldRule(Direction.BOTH, Policy.LATEST))
    early, late = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    crm = side("crm", {**BASE, "name": "A"}, stamp=late)
    erp = side("erp", {**BASE, "name": "B"}, stamp=early)
    assert merge(BASE, crm, erp, rules.entity("customer")).result["name"] == "A"
    tie = merge(
        BASE,
        side("crm", {**BASE, "name": "A"}, stamp=early),
        side("erp", {**BASE, "name": "B"}, stamp=early),
        rules.entity("customer"),
    )
    assert tie.parked == {"name"}


def test_a_function_decides_when_configured() -> None:
    rule = FieldRule(
        Direction.BOTH,
        Policy.FUNCTION,
        resolver=lambda field, base, crm, erp: sorted([crm, erp])[0],
    )
    rules = RULES.with_field("customer", "name", rule)
    out = merge(
        BASE,
        side("crm", {**BASE, "name": "Zed"}),
        side("erp", {**BASE, "name": "Ann"}),
        rules.entity("customer"),
    )
    assert out.result["name"] == "Ann"


def test_a_parked_field_stays_parked_until_the_sides_agree() -> None:
    crm = side("crm", {**BASE, "name": "X", "emails": []})
    out = merge(BASE, crm, side("erp", None), CUSTOMER, parked=frozenset({"name"}))
    assert out.result["name"] == "Acme"
    assert out.parked == {"name"}
    assert out.result["emails"] == []
    agreed = merge(
        BASE,
        side("crm", {**BASE, "name": "X"}),
        side("erp", {**BASE, "name": "X"}),
        CUSTOMER,
        parked=frozenset({"name"}),
    )
    assert agreed.result["name"] == "X"
    assert agreed.settled == {"name"}


def test_a_resolution_sets_the_value() -> None:
    out = merge(BASE, side("crm", None), side("erp", None), CUSTOMER, resolved={"name": "Chosen"})
    assert out.result["name"] == "Chosen"


def test_a_field_only_one_side_carries_changes_only_from_that_side() -> None:
    crm = side("crm", {**BASE, "payment_terms": "ignored"}, carried=frozenset({"name", "emails"}))
    erp = side("erp", {**BASE})
    out = merge(BASE, crm, erp, CUSTOMER)
    assert out.result["payment_terms"] == "net 30"


values = st.sampled_from(["a", "b", "c"])


@settings(max_examples=300)
@given(
    st.fixed_dictionaries({"name": values, "payment_terms": values}),
    st.fixed_dictionaries({"name": values, "payment_terms": values}),
    st.fixed_dictionaries({"name": values, "payment_terms": values}),
)
def test_merge_is_deterministic_and_symmetric_in_pull_order(
    base: dict, crm: dict, erp: dict
) -> None:
    carried = frozenset({"name", "payment_terms"})
    one = merge(
        base, SideView("crm", carried, crm, base), SideView("erp", carried, erp, base), CUSTOMER
    )
    two = merge(
        base, SideView("crm", carried, crm, base), SideView("erp", carried, erp, base), CUSTOMER
    )
    assert one == two
    for name in carried:
        if crm[name] == base[name]:
            assert (
                one.result[name] == erp[name]
                or name in one.parked
                or (erp[name] != base[name] and name in one.parked)
            )
        if crm[name] != base[name] and erp[name] == base[name]:
            assert one.result[name] == crm[name]
