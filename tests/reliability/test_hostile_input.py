"""Hostile input (promise 1): malformed native records in the middle of good ones.

Hypothesis makes native payloads no front-end would accept (wrong types, huge
strings, lone surrogates, NaN and float money, unknown codes) and puts them in
with ``store_raw`` between valid records of both systems. The run completes, every
bad record is quarantined with the field and a reason (``engine.quarantined()``),
nothing of it reaches the other system, and the good records go through.

References to records that do not exist (and an order naming itself as its
quote, the nearest thing to a cycle: no canonical shape has a reference that can
loop) are covered with documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmerp.state import StateStore, open_state
from tests.reliability._helpers import (
    MEMORY_STATE,
    TALLY,
    World,
    assert_agree,
    linked,
    make_world,
    scaled,
    tally_run,
)


@attrs.frozen
class Bad:
    """A corruption of one native field, and the canonical field it must be blamed on."""

    side: str
    key: str
    value: Any
    field: str

    def payload(self, n: int) -> dict[str, Any]:
        if self.side == "crm":
            base: dict[str, Any] = {"Name": f"Bad {n}", "Email__c": f"bad{n}@example.com"}
            if self.key == "Credit_Limit__c":
                base["CurrencyIsoCode"] = "EUR"
        else:
            base = {
                "name": f"Bad {n}",
                "bp_category": 2,
                "contact_mechanisms": [{"type": "email", "value": f"bad{n}@example.com"}],
            }
            if self.key == "credit_limit_amount":
                base["credit_limit_currency"] = "EUR"
        return {**base, self.key: self.value}


# --- values no front-end would let through ---------------------------------------------

_SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
_NOT_TEXT = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_BAD_NAMES = st.one_of(
    _NOT_TEXT,
    st.just(None),
    st.tuples(st.text(max_size=5), _SURROGATES, st.text(max_size=5)).map("".join),
    st.integers(513, 100_000).map(lambda n: "N" * n),
)
_BAD_MONEY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["NaN", "sNaN", "Infinity", "-inf", "1,50", "12 EUR", "", "0x10", "1e"]),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
    st.lists(st.integers(), max_size=2),
)
_UNKNOWN_CODES = st.one_of(
    st.text(max_size=8).filter(lambda t: t not in {"Yes", "No"}),
    st.floats(allow_nan=True),
    st.lists(st.just("Yes"), min_size=1, max_size=2),
)

CRM_BAD = st.one_of(
    _BAD_NAMES.map(lambda v: Bad("crm", "Name", v, "name")),
    _BAD_MONEY.map(lambda v: Bad("crm", "Credit_Limit__c", v, "credit_limit")),
    _UNKNOWN_CODES.filter(lambda v: v != "").map(lambda v: Bad("crm", "Active__c", v, "active")),
    st.sampled_from(["true", "yes", "Person", "B2C"]).map(
        lambda v: Bad("crm", "IsPersonAccount", v, "kind")
    ),
    st.sampled_from(["EURO", "E1R", "€€€", "US$"]).map(
        lambda v: Bad("crm", "CurrencyIsoCode", v, "currency")
    ),
    st.one_of(_SURROGATES.map(lambda s: f"a{s}@example.com"), _NOT_TEXT).map(
        lambda v: Bad("crm", "Email__c", v, "emails")
    ),
    st.one_of(st.text(min_size=1, max_size=5), st.integers(), st.just({"records": "x"})).map(
        lambda v: Bad("crm", "Contacts", v, "contacts")
    ),
    st.just({"records": [{"Title": "Buyer"}]}).map(
        lambda v: Bad("crm", "Contacts", v, "contacts.0.name")
    ),
    st.one_of(st.text(min_size=1, max_size=5), st.integers(), st.lists(st.integers())).map(
        lambda v: Bad("crm", "BillingAddress", v, "addresses")
    ),
)

ERP_BAD = st.one_of(
    _BAD_NAMES.map(lambda v: Bad("erp", "name", v, "name")),
    _BAD_MONEY.map(lambda v: Bad("erp", "credit_limit_amount", v, "credit_limit")),
    st.one_of(
        st.integers().filter(lambda v: v not in (1, 2)),
        st.sampled_from(["1", "company", None, 2.5]),
    ).map(lambda v: Bad("erp", "bp_category", v, "kind")),
    st.one_of(
        st.text(min_size=1, max_size=5),
        st.integers(),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.just({"type": "email", "value": "x@example.com"}),
    ).map(lambda v: Bad("erp", "contact_mechanisms", v, "emails")),
    st.one_of(st.text(min_size=1, max_size=5), st.integers()).map(
        lambda v: Bad("erp", "addresses", v, "addresses")
    ),
    st.just([{"name": None}]).map(lambda v: Bad("erp", "contacts", v, "contacts.0.name")),
)


@pytest.fixture(scope="module")
def shared_state() -> Iterator[StateStore]:
    """One in-memory state for every example; each example has its own scope."""
    state = open_state(MEMORY_STATE, create=True)
    yield state
    state.close()


def _world(state: StateStore) -> World:
    return make_world(state=state, scope=uuid.uuid4().hex)


def _put(world: World, items: list[Bad | str]) -> tuple[dict[str, Bad], list[str]]:
    """Store good and bad customers in the given order; returns bad ids and good emails."""
    bad: dict[str, Bad] = {}
    good: list[str] = []
    for n, item in enumerate(items):
        if isinstance(item, Bad):
            fake = world.crm if item.side == "crm" else world.erp
            table = "Account" if item.side == "crm" else "party.party"
            bad[str(fake.store_raw(table, item.payload(n)))] = item
        else:
            email = f"good{n}@example.com"
            if item == "crm":
                world.crm.create("Account", Name=f"Good {n}", Email__c=email)
            else:
                world.erp.create(
                    "party.party",
                    name=f"Good {n}",
                    contact_mechanisms=[{"type": "email", "value": email}],
                )
            good.append(email)
    return bad, good


def _assert_quarantined(world: World, bad: dict[str, Bad]) -> None:
    quarantined = world.engine().quarantined()
    by_id = {q.native_id: q for q in quarantined}
    assert set(by_id) == set(bad), "quarantine holds exactly the bad records"
    for native_id, item in bad.items():
        entry = by_id[native_id]
        assert entry.entity == "customer"
        assert entry.system == ("fake-crm" if item.side == "crm" else "fake-erp")
        assert entry.field is not None
        assert entry.field.split(".")[0] == item.field.split(".")[0], (entry.field, item)
        assert entry.field.startswith(item.field) or item.field.startswith(entry.field)
        assert entry.reason
        assert native_id in entry.reason


def _emails(world: World, side: str) -> set[str]:
    """Every email a system shows, read defensively (bad records hold anything)."""
    if side == "crm":
        return {r["Email__c"] for r in world.crm.find("Account") if isinstance(r["Email__c"], str)}
    found = set()
    for row in world.erp.find("party.party"):
        mechanisms = row.get("contact_mechanisms")
        for m in mechanisms if isinstance(mechanisms, list) else ():
            if isinstance(m, dict) and m.get("type") == "email" and isinstance(m["value"], str):
                found.add(m["value"])
    return found


def _good_went_through(world: World, good: list[str], bad: dict[str, Bad]) -> None:
    """Good customers on both sides; nothing made from a bad one; bad ones not linked."""
    crm, erp = _emails(world, "crm"), _emails(world, "erp")
    assert set(good) <= crm & erp, "every good customer is on both sides"
    bad_crm = sum(item.side == "crm" for item in bad.values())
    assert len(world.crm.find("Account")) == len(good) + bad_crm
    assert len(world.erp.find("party.party")) == len(good) + len(bad) - bad_crm
    linked_ids = {n for systems in linked(world, "customer").values() for n in systems.values()}
    assert not linked_ids & set(bad), "a quarantined record was linked"


@settings(
    max_examples=scaled(30, 1000),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(
        st.one_of(CRM_BAD, ERP_BAD, st.sampled_from(["crm", "erp"])), min_size=1, max_size=8
    )
)
def test_bad_customers_are_quarantined_and_the_good_go_through(
    shared_state: StateStore, items: list[Bad | str]
) -> None:
    world = _world(shared_state)
    bad, good = _put(world, [*items, "crm", "erp"])
    engine = world.engine()
    TALLY.seeds += 1
    report = tally_run(engine.run())
    assert report.stopped is None
    assert report.quarantined == len(bad)
    _assert_quarantined(world, bad)
    _good_went_through(world, good, bad)
    assert_agree(world, "customer")
    again = tally_run(engine.run())
    assert again.writes == 0
    assert again.quarantined == 0
    _assert_quarantined(world, bad)


# --- documents: bad lines, bad codes, references to nothing ------------------------------


@attrs.frozen
class BadOrder:
    """A corruption of one native order, and the canonical field it must be blamed on."""

    side: str
    change: tuple[tuple[str, Any], ...]  # (path, value); "lines.0.X" goes into the first line
    field: str


_LINE_KEYS = {"crm": "OrderItems", "erp": "lines"}

CRM_BAD_ORDERS = st.one_of(
    st.text(max_size=6)
    .filter(lambda t: t not in {"Draft", "Activated", "Fulfilled", "Invoiced", "Cancelled", ""})
    .map(lambda v: BadOrder("crm", (("Status", v),), "status")),
    _BAD_MONEY.map(lambda v: BadOrder("crm", (("lines.0.UnitPrice", v),), "lines.0.unit_price")),
    st.sampled_from([[1], "many", {"n": 1}, 1.5]).map(
        lambda v: BadOrder("crm", (("lines.0.Quantity", v),), "lines.0.quantity")
    ),
    st.sampled_from(["150", "-1", "100.01"]).map(
        lambda v: BadOrder("crm", (("lines.0.Discount", v),), "lines.0.discount_percent")
    ),
    st.just(BadOrder("crm", (("lines.0.CurrencyIsoCode", "USD"),), "lines.0.unit_price")),
    st.sampled_from(["lots", 5, {"records": "x"}]).map(
        lambda v: BadOrder("crm", (("OrderItems", v),), "lines")
    ),
    st.sampled_from(["soon-ish", "2024-02-30", "99999-01-01", 20240101]).map(
        lambda v: BadOrder("crm", (("EffectiveDate", v),), "ordered_on")
    ),
)
ERP_BAD_ORDERS = st.one_of(
    st.text(max_size=6)
    .filter(lambda t: t not in {"draft", "quotation", "confirmed", "processing", "done", ""})
    .filter(lambda t: t != "cancelled")
    .map(lambda v: BadOrder("erp", (("state", v),), "status")),
    _BAD_MONEY.map(lambda v: BadOrder("erp", (("lines.0.unit_price", v),), "lines.0.unit_price")),
    st.sampled_from([[1], {"id": 1}, 1.5, True]).map(
        lambda v: BadOrder("erp", (("party", v),), "customer_id")
    ),
    st.sampled_from([5, "soon", "2024-13-01"]).map(
        lambda v: BadOrder("erp", (("sale_date", v),), "ordered_on")
    ),
    st.just(BadOrder("erp", (("untaxed_amount", Decimal("1.00")),), "subtotal")),
)


@attrs.define
class Catalogue:
    """A customer and a product already synced, as each system calls them."""

    account: str
    party: int
    crm_product: str
    erp_product: int


def _catalogue(world: World) -> Catalogue:
    account = world.crm.create("Account", Name="Acme GmbH", Email__c="sales@acme.example")
    product = world.erp.create("product.product", code="BOLT-1", name="Bolt M6")
    tally_run(world.engine().run())
    return Catalogue(
        account,
        world.erp.find("party.party")[0]["id"],
        world.crm.find("Product2")[0]["Id"],
        product,
    )


def _order(side: str, cat: Catalogue, n: int) -> dict[str, Any]:
    if side == "crm":
        line = {"Product2Id": cat.crm_product, "Quantity": str(n + 1), "UnitPrice": "2.50"}
        return {
            "AccountId": cat.account,
            "Status": "Draft",
            "CurrencyIsoCode": "EUR",
            "OrderNumber": f"SO-{n}",
            "OrderItems": {"records": [{**line, "CurrencyIsoCode": "EUR"}]},
        }
    return {
        "party": cat.party,
        "currency": "EUR",
        "state": "draft",
        "number": f"SO-{n}",
        "lines": [
            {"product": cat.erp_product, "quantity": Decimal(n + 1), "unit_price": Decimal("2.50")}
        ],
        "untaxed_amount": Decimal("2.50") * (n + 1),
        "tax_amount": Decimal(0),
        "total_amount": Decimal("2.50") * (n + 1),
    }


def _corrupt(payload: dict[str, Any], side: str, path: str, value: Any) -> None:
    if path.startswith("lines.0."):
        lines = payload[_LINE_KEYS[side]]
        first = (lines["records"] if side == "crm" else lines)[0]
        first[path.removeprefix("lines.0.")] = value
    else:
        payload[path] = value


def _put_orders(
    world: World, cat: Catalogue, items: list[BadOrder | str]
) -> tuple[dict[str, BadOrder], int]:
    bad: dict[str, BadOrder] = {}
    good = 0
    for n, item in enumerate(items):
        side = item.side if isinstance(item, BadOrder) else item
        payload = _order(side, cat, n)
        table = "Order" if side == "crm" else "sale.sale"
        fake = world.crm if side == "crm" else world.erp
        if isinstance(item, BadOrder):
            for path, value in item.change:
                _corrupt(payload, side, path, value)
            bad[str(fake.store_raw(table, payload))] = item
        else:
            fake.create(table, payload)
            good += 1
    return bad, good


@settings(
    max_examples=scaled(15, 600),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(
        st.one_of(CRM_BAD_ORDERS, ERP_BAD_ORDERS, st.sampled_from(["crm", "erp"])),
        min_size=1,
        max_size=6,
    )
)
def test_bad_orders_are_quarantined_and_the_good_go_through(
    shared_state: StateStore, items: list[BadOrder | str]
) -> None:
    world = _world(shared_state)
    cat = _catalogue(world)
    bad, good = _put_orders(world, cat, [*items, "crm", "erp"])
    engine = world.engine()
    TALLY.seeds += 1
    report = tally_run(engine.run())
    assert report.quarantined == len(bad)
    by_id = {q.native_id: q for q in engine.quarantined() if q.entity == "order"}
    assert set(by_id) == set(bad)
    for native_id, item in bad.items():
        assert by_id[native_id].field == item.field, (by_id[native_id], item)
        assert native_id in by_id[native_id].reason
    bad_crm = sum(item.side == "crm" for item in bad.values())
    assert len(world.crm.find("Order")) == good + bad_crm
    assert len(world.erp.find("sale.sale")) == good + len(bad) - bad_crm
    assert_agree(world, "order")
    assert tally_run(engine.run()).writes == 0


DANGLING = {
    # (side, native path, value or "self", canonical field)
    "crm order for an account that does not exist": (
        "crm",
        "AccountId",
        "001NOSUCHACCOUNT",
        "customer_id",
    ),
    "crm order line for a product that does not exist": (
        "crm",
        "lines.0.Product2Id",
        "01tNOSUCHPRODUCT",
        "lines.0.product_id",
    ),
    "crm order naming itself as its quote": ("crm", "OpportunityId", "self", "quote_id"),
    "erp sale for a party that does not exist": ("erp", "party", 9999, "customer_id"),
    "erp sale line for a product that does not exist": (
        "erp",
        "lines.0.product",
        9999,
        "lines.0.product_id",
    ),
    "erp sale naming itself as its quotation": ("erp", "quotation", "self", "quote_id"),
}


def _dangling(world: World, cat: Catalogue, case: tuple[str, str, Any, str]) -> str:
    side, path, value, _field = case
    payload = _order(side, cat, 7)
    fake = world.crm if side == "crm" else world.erp
    table = "Order" if side == "crm" else "sale.sale"
    native = str(fake.store_raw(table, payload))
    _corrupt(payload, side, path, native if value == "self" else value)
    fake.store_raw(table, payload, id=native)
    return native


@pytest.mark.parametrize("case", DANGLING.values(), ids=list(DANGLING))
def test_an_order_referring_to_nothing_is_never_written_and_never_dropped(
    world: World, case: tuple[str, str, Any, str]
) -> None:
    cat = _catalogue(world)
    _dangling(world, cat, case)
    good = world.crm.create("Order", _order("crm", cat, 1))
    engine = world.engine()
    for _ in range(2):
        report = tally_run(engine.run())
        assert report.stopped is None
        # Not written anywhere, and still accounted for: waiting or quarantined.
        assert report.deferred + len(engine.quarantined()) >= 1
    assert len(world.erp.find("sale.sale")) == 1 + (case[0] == "erp")
    assert len(world.crm.find("Order")) == 1 + (case[0] == "crm")
    assert world.crm.read("Order", good) is not None
    assert_agree(world, "order")


@pytest.mark.parametrize("case", DANGLING.values(), ids=list(DANGLING))
def test_an_order_referring_to_nothing_is_quarantined_with_the_field(
    world: World, case: tuple[str, str, Any, str]
) -> None:
    cat = _catalogue(world)
    native = _dangling(world, cat, case)
    engine = world.engine()
    tally_run(engine.run())
    tally_run(engine.run())
    (entry,) = [q for q in engine.quarantined() if q.native_id == native]
    assert entry.field == case[3]
    assert entry.reason


@pytest.mark.parametrize("side", ["crm", "erp"])
@pytest.mark.parametrize(
    ("key", "value"),
    [("Quantity", "1e999999"), ("UnitPrice", "9" * 5000)],
    ids=["quantity", "price"],
)
def test_amounts_too_large_to_compute_are_quarantined(
    world: World, side: str, key: str, value: str
) -> None:
    cat = _catalogue(world)
    payload = _order(side, cat, 1)
    if side == "crm":
        _corrupt(payload, side, f"lines.0.{key}", value)
        native = world.crm.store_raw("Order", payload)
    else:
        erp_key = {"Quantity": "quantity", "UnitPrice": "unit_price"}[key]
        _corrupt(payload, side, f"lines.0.{erp_key}", Decimal(value))
        native = str(world.erp.store_raw("sale.sale", payload))
    good = world.crm.create("Order", _order("crm", cat, 2))
    engine = world.engine()
    report = tally_run(engine.run())
    assert report.quarantined == 1
    (entry,) = engine.quarantined()
    assert entry.native_id == str(native)
    assert entry.field is not None
    assert entry.field.startswith("lines")
    assert world.crm.read("Order", good) is not None
    assert len(world.erp.find("sale.sale")) == 1 + (side == "erp")


def test_a_record_gone_bad_on_one_side_is_not_overwritten_by_the_other(world: World) -> None:
    """A linked customer whose ERP record stops validating while the CRM edits it: the
    CRM's change is not written blind over the bad record, which is quarantined; once
    somebody repairs it, the CRM's edit goes through."""
    account = world.crm.create("Account", Name="Acme GmbH", Email__c="sales@acme.example")
    engine = world.engine()
    tally_run(engine.run())
    (party,) = world.erp.find("party.party")
    broken = {**party, "bp_category": 7}  # a code the mapping does not know
    world.erp.store_raw("party.party", broken, id=party["id"])
    world.crm.edit("Account", account, Payment_Terms__c="net 60")
    report = tally_run(engine.run())
    assert report.stopped is None
    assert world.erp.read("party.party", party["id"])["bp_category"] == 7  # type: ignore[index]
    (bad,) = [q for q in engine.quarantined() if q.native_id == str(party["id"])]
    assert bad.system == "fake-erp"
    assert "bp_category" in bad.reason
    world.erp.edit("party.party", party["id"], bp_category=2)  # repaired by a person
    engine.retry_quarantined()
    tally_run(engine.run())
    tally_run(engine.run())
    assert world.erp.read("party.party", party["id"])["payment_term"] == "net 60"  # type: ignore[index]
    assert tally_run(engine.run()).writes == 0
