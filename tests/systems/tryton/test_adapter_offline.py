"""Offline tests of the Tryton adapter: formulas, cursors, the feed, mappings, errors.

No server: the change feed runs on an in-memory stand-in for Tryton's tables,
and error handling on a scripted HTTP transport.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmerp import ConfigError, DataError, FatalError, UsageError
from crmerp.adapters import NativeRecord, WriteKind, WriteOp, WriteStatus, reference_for
from crmerp.adapters.tryton import (
    ChangeSource,
    Position,
    TrytonAdapter,
    TrytonRPC,
    compose_formula,
    decode_cursor,
    encode_cursor,
    order_status,
    parse_formula,
    tax_identifier_type,
)
from crmerp.adapters.tryton._cursor import Loaded, read
from crmerp.models import (
    Customer,
    LineItem,
    Money,
    Order,
    PriceList,
    PriceListItem,
    Product,
    new_global_id,
)

# --- formulas -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "discount", "formula"),
    [
        ("12.50", "0", "Decimal('12.50')"),
        ("12.50", "5", "Decimal('12.50') * (1 - Decimal('0.05'))"),
        ("9.99", "33.333", "Decimal('9.99') * (1 - Decimal('0.33333'))"),
        ("1000", "100", "Decimal('1000') * (1 - Decimal('1'))"),
        ("0.0001", "0.5", "Decimal('0.0001') * (1 - Decimal('0.005'))"),
    ],
)
def test_formulas_say_a_price_less_a_discount_exactly(
    price: str, discount: str, formula: str
) -> None:
    assert compose_formula(Decimal(price), Decimal(discount)) == formula
    read_price, read_discount = parse_formula(formula)
    assert str(read_price) == price
    assert read_discount == Decimal(discount)


@given(
    st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False),
)
def test_any_price_and_discount_survive_the_formula(price: Decimal, discount: Decimal) -> None:
    read_price, read_discount = parse_formula(compose_formula(price, discount))
    assert (read_price, read_price.as_tuple().exponent) == (price, price.as_tuple().exponent)
    assert read_discount == discount


def test_formulas_typed_in_tryton_are_read_when_they_are_fixed_prices() -> None:
    assert parse_formula(" 12.50 ") == (Decimal("12.50"), 0)
    assert parse_formula('Decimal("8") * ( 1 - 0.25 )') == (Decimal("8"), 25)
    for relative in ("unit_price * 0.9", "list_price - 1", "cost_price", ""):
        with pytest.raises(DataError, match="not a fixed price"):
            parse_formula(relative)


# --- cursors -----------------------------------------------------------------------------------


def test_cursors_round_trip_and_refuse_foreign_text() -> None:
    position = Position(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), 42)
    assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(None) is None
    for bad in (
        "",
        "42",
        "t1|yesterday|4",
        "t1|2026-01-02T03:04:05|4",
        "t0|2026-01-02T03:04:05+00:00|4",
    ):
        with pytest.raises(UsageError, match="cursor"):
            decode_cursor(bad)


# --- the change feed on an in-memory Tryton ----------------------------------------------------


class FakeTables:
    """Rows of a parent table and a child table, searchable as the sweep searches."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, dict[str, Any]]] = {"parent": {}, "child": {}}

    def put(self, model: str, row_id: int, stamp: dt.datetime, **values: Any) -> None:
        self.rows[model][row_id] = {"id": row_id, "last_modified_at": stamp, **values}

    def _match(self, row: Mapping[str, Any], clause: Any) -> bool:
        if isinstance(clause, list) and clause and clause[0] == "OR":
            return any(all(self._match(row, c) for c in part) for part in clause[1:])
        name, operator, value = clause
        have = row[name]
        if operator == "<":
            return bool(have < value)
        if operator == ">":
            return bool(have > value)
        if operator == "=":
            return bool(have == value)
        raise AssertionError(f"the sweep does not search with {operator!r}")

    def search_read(self, model: str, domain: Sequence[Any], fields: Sequence[str], *,
                    limit: int | None = None, order: Any = None,
                    context: Any = None) -> list[dict[str, Any]]:  # fmt: skip
        rows = [r for r in self.rows[model].values() if all(self._match(r, c) for c in domain)]
        if order:
            key = order[1][0].removesuffix(".id")
            rows.sort(key=lambda r: (r["last_modified_at"], r[key]))
        return [dict(r) for r in rows[:limit]]

    def load(self, ids: Sequence[int]) -> dict[int, Loaded]:
        out = {}
        for key in ids:
            parent = self.rows["parent"].get(key)
            if parent is None:
                continue
            stamps = [parent["last_modified_at"]] + [
                c["last_modified_at"] for c in self.rows["child"].values() if c["parent"] == key
            ]
            stamp = max(stamps)
            out[key] = Loaded(NativeRecord(str(key), {"stamp": stamp.isoformat()}, stamp), stamp)
        return out


SOURCES = [ChangeSource("parent"), ChangeSource("child", "parent", fanout=2)]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FAR = Position(T0 + dt.timedelta(days=1), 0)


def _stamp(n: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=n)


def _pages(
    tables: FakeTables,
    after: Position | None,
    limit: int,
    between: Callable[[int], None] | None = None,
) -> tuple[list[str], Position | None]:
    seen: list[str] = []
    for number in range(1000):
        page = read(tables, SOURCES, tables.load, after, FAR, limit)  # type: ignore[arg-type]
        assert len(page.records) <= limit
        seen.extend(r.id for r in page.records)
        if not page.more:
            return seen, page.cursor
        assert page.cursor != after
        after = page.cursor
        if between is not None:
            between(number)
    raise AssertionError("the feed did not end")


rows = st.lists(
    st.tuples(st.integers(1, 12), st.integers(0, 6), st.booleans()), min_size=1, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(rows, st.integers(1, 4))
def test_the_feed_returns_each_changed_record_once_in_stamp_order(
    spec: list[tuple[int, int, bool]], limit: int
) -> None:
    tables = FakeTables()
    child_id = 0
    for parent, stamp, is_child in spec:
        if is_child:
            child_id += 1
            tables.put("child", child_id, _stamp(stamp), parent=parent)
            if parent not in tables.rows["parent"]:
                tables.put("parent", parent, _stamp(0))
        else:
            tables.put("parent", parent, _stamp(stamp))
    seen, cursor = _pages(tables, None, limit)
    assert sorted(seen, key=int) == [str(p) for p in sorted(tables.rows["parent"])]
    loaded = tables.load([int(i) for i in seen])
    positions = [Position(loaded[int(i)].stamp, int(i)) for i in seen]
    assert positions == sorted(positions)
    assert _pages(tables, cursor, limit)[0] == []  # nothing changed since


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 15), st.integers(1, 3), st.data())
def test_a_change_while_paging_is_returned_after_it_and_nothing_repeats(
    count: int, limit: int, data: st.DataObject
) -> None:
    tables = FakeTables()
    for parent in range(1, count + 1):
        tables.put("parent", parent, _stamp(parent % 3))  # shared stamps
        tables.put("child", parent, _stamp(parent % 4), parent=parent)
    touched: list[int] = []

    def meddle(number: int) -> None:
        if number == 0:
            victim = data.draw(st.integers(1, count))
            if data.draw(st.booleans()):
                tables.put("child", victim, _stamp(100), parent=victim)
            else:
                tables.put("parent", victim, _stamp(100))
            touched.append(victim)

    seen, _ = _pages(tables, None, limit, meddle)
    assert set(seen) == {str(p) for p in range(1, count + 1)}
    repeated = {i for i in seen if seen.count(i) > 1}
    assert repeated <= {str(t) for t in touched}
    if touched:
        assert seen[-1] == str(touched[0])  # returned again after its change


# --- mappings without a server ---------------------------------------------------------------

ADAPTER_ONLY = TrytonAdapter(rpc=TrytonRPC("http://tryton.invalid", "db", "u", "p"))


def _round_trip(entity: str, record: Any) -> Any:
    native = ADAPTER_ONLY.to_native(entity, record)
    json.dumps(native)  # native payloads are plain JSON
    return ADAPTER_ONLY.to_canonical(entity, NativeRecord("7", native))


def _carried(entity: str, record: Any) -> dict[str, Any]:
    fields = ADAPTER_ONLY.mapping(entity).carried - {"id", "updated_at"}
    return dict(record.model_dump(include=set(fields)))


def test_customer_payload_round_trip() -> None:
    customer = Customer(
        name="Acme GmbH",
        addresses=[{"kind": "shipping", "street": "Lagerweg 2", "city": "Hamburg",
                    "postcode": "20095", "region": "HH", "country": "DE"}],
        tax_id="DE136695976",
        emails=["a@acme.example"],
        phones=["030 1234567"],
        payment_terms="Immediate",
        currency="EUR",
        active=False,
    )  # fmt: skip
    native = ADAPTER_ONLY.to_native("customer", customer)
    assert native["addresses"][0] | {} == {
        "invoice": False, "delivery": True, "street": "Lagerweg 2", "city": "Hamburg",
        "postal_code": "20095", "subdivision": "HH", "country": "DE",
    }  # fmt: skip
    assert native["phones"] == ["+49301234567"]
    assert _carried("customer", _round_trip("customer", customer)) == _carried("customer", customer)


def test_product_kinds_and_units() -> None:
    product = Product(sku="S-1", name="Hours", unit="hour", kind="service")
    assert ADAPTER_ONLY.to_native("product", product)["type"] == "service"
    back = ADAPTER_ONLY.to_canonical(
        "product",
        NativeRecord("1", {"code": "A-1", "name": "Asset", "uom": "Kilogram", "type": "assets",
                           "description": None, "gtin": None, "active": 1}),
    )  # fmt: skip
    assert (back.kind, back.unit, back.description, back.active) == ("goods", "kilogram", "", True)


def test_price_list_lines_are_written_highest_quantity_first() -> None:
    price_list = PriceList(
        name="EU",
        currency="EUR",
        items=[
            PriceListItem(product_id="3", unit_price=Money("10.00", "EUR")),
            PriceListItem(product_id="3", unit_price=Money("10.00", "EUR"), min_quantity=50,
                          discount_percent="12.5"),
            PriceListItem(product_id="4", unit_price=Money("2.00", "EUR"), min_quantity=10),
        ],
    )  # fmt: skip
    lines = ADAPTER_ONLY.to_native("price_list", price_list)["lines"]
    assert [(line["product"], line["quantity"]) for line in lines] == [
        (3, 50.0),
        (4, 10.0),
        (3, 1.0),
    ]
    back = _round_trip("price_list", price_list)
    assert back.price_for("3", 60) == price_list.price_for("3", 60) == Money("8.75", "EUR")
    assert back.price_for("4", 10) == Money("2.00", "EUR")


def test_a_discount_is_folded_into_a_sale_line_price_when_exact() -> None:
    order = Order(customer_id="1", currency="EUR", lines=[
        LineItem(product_id="2", quantity=3, unit_price=Money("19.99", "EUR"),
                 discount_percent=5, tax_rate=20)])  # fmt: skip
    native = ADAPTER_ONLY.to_native("order", order)
    (line,) = native["lines"]
    assert (line["unit_price"], line["taxes"]) == (
        "18.9905",
        [{"type": "percentage", "rate": "0.2"}],
    )
    assert "number" not in native  # Tryton numbers sales itself
    back = _round_trip("order", order)
    assert (back.lines[0].unit_price, back.lines[0].discount_percent) == (
        Money("18.9905", "EUR"),
        0,
    )
    assert back.total == order.total

    inexact = order.model_copy(update={"lines": [order.lines[0].model_copy(
        update={"discount_percent": Decimal("33.333")})]})  # fmt: skip
    with pytest.raises(DataError, match="decimals"):
        ADAPTER_ONLY.to_native("order", inexact)


@pytest.mark.parametrize(
    ("state", "shipment", "invoice", "status"),
    [
        ("draft", "none", "none", "draft"),
        ("quotation", "none", "none", "draft"),
        ("confirmed", "none", "none", "confirmed"),
        ("processing", "waiting", "pending", "confirmed"),
        ("processing", "waiting", "awaiting payment", "confirmed"),
        ("processing", "sent", "pending", "fulfilled"),
        ("processing", "sent", "awaiting payment", "invoiced"),
        ("processing", "none", "paid", "invoiced"),
        ("processing", "exception", "pending", "confirmed"),
        ("done", "sent", "paid", "invoiced"),
        ("cancelled", "none", "none", "cancelled"),
    ],
)
def test_sale_states_map_to_order_statuses(
    state: str, shipment: str, invoice: str, status: str
) -> None:
    assert order_status(state, shipment, invoice) == status


def test_an_unknown_sale_state_is_a_data_error_naming_the_field() -> None:
    with pytest.raises(DataError) as info:
        ADAPTER_ONLY.to_canonical("order", NativeRecord("9", {"state": "archived"}))
    assert (info.value.system, info.value.native_id, info.value.field) == ("tryton", "9", "status")


def test_tax_identifier_types() -> None:
    assert tax_identifier_type("DE136695976", None) == "eu_vat"
    assert tax_identifier_type("CHE-116.281.710 MWST", "CH") == "ch_vat"
    assert tax_identifier_type("995525828MVA", "NO") == "no_mva"
    # An American tax number may be an EIN, an SSN or an ITIN: no type is guessed.
    for code, country in (("04-2103594", "US"), ("12345", None)):
        with pytest.raises(DataError, match="identifier type"):
            tax_identifier_type(code, country)


# --- errors become per-record answers -----------------------------------------------------------


def _scripted(answer: Callable[[str, list[Any]], httpx.Response]) -> TrytonAdapter:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        method, params = body["method"], body["params"]
        if method == "common.db.login":
            return httpx.Response(200, json={"id": body["id"], "result": [1, "tok", None]})
        if method == "model.res.user.get_preferences":
            return httpx.Response(200, json={"id": body["id"], "result": {"company": 1}})
        response = answer(method, params)
        if response.status_code == 200 and not response.content:
            return httpx.Response(200, json={"id": body["id"], "result": []})
        return response

    client = httpx.Client(transport=httpx.MockTransport(handle))
    return TrytonAdapter(rpc=TrytonRPC("http://tryton", "db", "u", "p", client=client))


def _customer_op() -> WriteOp:
    payload = ADAPTER_ONLY.to_native("customer", Customer(name="Acme"))
    return WriteOp(WriteKind.CREATE, reference_for(new_global_id()), payload)


def test_a_busy_server_asks_every_write_to_retry_after_its_delay() -> None:
    adapter = _scripted(lambda m, p: httpx.Response(503, headers={"Retry-After": "7"}))
    results = adapter.write("customer", [_customer_op(), _customer_op()])
    assert [(r.status, r.retry_after) for r in results] == [(WriteStatus.RETRY, 7.0)] * 2


def test_tryton_errors_become_answers_for_their_record_only() -> None:
    created: list[str] = []

    def answer(method: str, params: list[Any]) -> httpx.Response:
        if method == "model.party.party.create":
            name = params[0][0]["name"]
            created.append(name)
            if name == "Refused":
                return httpx.Response(200, json={"id": 0, "error": [
                    "UserError", ["The name is not allowed.", "", None]]})  # fmt: skip
            if name == "Busy":
                return httpx.Response(
                    200,
                    json={
                        "id": 0,
                        "error": ["ConcurrencyException", "Records were modified in the meanwhile"],
                    },
                )
            return httpx.Response(200, json={"id": 0, "result": [len(created)]})
        return httpx.Response(200)

    adapter = _scripted(answer)
    ops = [
        WriteOp(WriteKind.CREATE, reference_for(new_global_id()),
                ADAPTER_ONLY.to_native("customer", Customer(name=name)))
        for name in ("Refused", "Busy", "Fine")
    ]  # fmt: skip
    refused, busy, fine = adapter.write("customer", ops)
    assert (refused.status, refused.reason) == (WriteStatus.FAILED, "The name is not allowed.")
    assert busy.status is WriteStatus.RETRY
    assert (fine.status, fine.native_id) == (WriteStatus.DONE, "3")


def test_a_refused_login_stops_the_run() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    client = httpx.Client(transport=httpx.MockTransport(handle))
    adapter = TrytonAdapter(rpc=TrytonRPC("http://tryton", "db", "u", "bad", client=client))
    with pytest.raises(FatalError):
        adapter.write("customer", [_customer_op()])


def test_configuration_errors_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRMERP_TRYTON_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="url"):
        TrytonAdapter("", "db", "user", "pw")
    with pytest.raises(ConfigError, match="CRMERP_TRYTON_PASSWORD"):
        TrytonAdapter("http://tryton", "db", "user")
    with pytest.raises(ConfigError, match="ERP_SECRET"):
        TrytonAdapter("http://tryton", "db", "user", password_env="ERP_SECRET")
    with pytest.raises(UsageError, match="settle"):
        TrytonAdapter("http://tryton", "db", "user", "pw", settle_seconds=-1)
    with pytest.raises(UsageError, match="quote"):
        ADAPTER_ONLY.fetch("quote", ["1"])


def test_the_instance_is_the_server_and_database() -> None:
    one = TrytonAdapter(rpc=TrytonRPC("http://tryton.invalid/", "prod", "u", "p"))
    other = TrytonAdapter(rpc=TrytonRPC("http://tryton.invalid", "test", "u", "p"))
    assert one.instance() == "http://tryton.invalid/prod"
    assert other.instance() != one.instance()
