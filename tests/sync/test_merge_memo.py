"""A memo shared by the records of a batch gives the same first-sight merges."""

from crmerp.sync._merge import SideView, merge
from crmerp.sync._rules import Rules


def test_first_sight_merge_is_the_same_with_a_shared_memo() -> None:
    rules = Rules.default().entity("customer")
    carried = frozenset({"name", "payment_terms", "credit_limit", "active"})
    memo: dict[object, object] = {}
    for n in range(3):
        current = {"name": f"C{n}", "payment_terms": "net 30", "credit_limit": None, "active": True}
        crm = SideView("crm", carried, current, None)
        erp = SideView("erp", carried, None, None)
        assert merge(None, crm, erp, rules, memo=memo) == merge(None, crm, erp, rules)
    erp_view = SideView("erp", carried, {"name": "E", "credit_limit": "5"}, None)
    none = SideView("crm", carried, None, None)
    assert merge(None, none, erp_view, rules, memo=memo) == merge(None, none, erp_view, rules)
    assert len(memo) == 2
