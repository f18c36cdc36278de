"""Smoke test of :class:`TrytonRPC` against a real trytond 8.2 (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from crmerp.adapters.tryton._rpc import (
    TrytonAuthError,
    TrytonRPC,
    TrytonUserError,
)

pytestmark = pytest.mark.live


@pytest.fixture
def rpc(tryton_server: Any) -> Iterator[TrytonRPC]:
    with TrytonRPC(
        tryton_server.url,
        tryton_server.database,
        tryton_server.username,
        tryton_server.password,
        timeout=30.0,
    ) as client:
        yield client


def _unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


def test_login_and_preferences(rpc: TrytonRPC, tryton_server: Any) -> None:
    assert rpc.server_version() == "8.2"
    assert rpc.login() == 1
    assert rpc.context["company"] == tryton_server.refs["company"]


def test_wrong_password_is_an_auth_error(tryton_server: Any) -> None:
    with (
        TrytonRPC(tryton_server.url, tryton_server.database, "admin", "wrong-password") as bad,
        pytest.raises(TrytonAuthError) as info,
    ):
        bad.login()
    assert info.value.status_code == 401


def test_party_product_sale_round_trip(rpc: TrytonRPC, tryton_server: Any) -> None:
    refs = tryton_server.refs
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)

    # Party with an address, an e-mail and a phone --------------------------------
    (france,) = rpc.search("country.country", [("code", "=", "FR")])
    name = _unique("ACME SAS")
    (party_id,) = rpc.create(
        "party.party",
        [
            {
                "name": name,
                "addresses": [
                    [
                        "create",
                        [
                            {
                                "street": "12 rue de la Paix",
                                "postal_code": "75002",
                                "city": "Paris",
                                "country": france,
                            }
                        ],
                    ]
                ],
                "contact_mechanisms": [
                    [
                        "create",
                        [
                            {"type": "email", "value": "jane.doe@acme.example"},
                            {"type": "phone", "value": "+33 1 23 45 67 89"},
                        ],
                    ]
                ],
            }
        ],
    )
    rows = rpc.search_read(
        "party.party",
        [("write_date", ">=", before), ("name", "=", name)],
        ["name", "code", "addresses", "contact_mechanisms", "create_date", "write_date"],
    )
    assert len(rows) == 1
    party = rows[0]
    assert party["id"] == party_id
    assert party["code"]  # numbered by the party sequence
    for stamp in ("create_date", "write_date"):
        assert isinstance(party[stamp], dt.datetime)
        assert party[stamp].tzinfo == dt.UTC
        assert party[stamp] >= before
    (address,) = rpc.read(
        "party.address", party["addresses"], ["street", "postal_code", "city", "country.code"]
    )
    assert address["street"] == "12 rue de la Paix"
    assert address["country."]["code"] == "FR"  # dotted reads come back nested
    mechanisms = rpc.read(
        "party.contact_mechanism", party["contact_mechanisms"], ["type", "value", "value_compact"]
    )
    by_type = {m["type"]: m for m in mechanisms}
    assert by_type["email"]["value"] == "jane.doe@acme.example"
    assert by_type["phone"]["value_compact"] == "+33123456789"

    with pytest.raises(TrytonUserError):
        rpc.create(
            "party.contact_mechanism",
            [{"party": party_id, "type": "email", "value": "not an e-mail"}],
        )

    # Product template + variant ----------------------------------------------------
    unit = refs["uom_unit"]
    (template_id,) = rpc.create(
        "product.template",
        [
            {
                "name": "Widget",
                "type": "goods",
                "default_uom": unit,
                "sale_uom": unit,  # required once salable; RPC create does not default it
                "salable": True,
                "list_price": Decimal("100.00"),
                "account_category": refs["account_category"],
                "products": [["create", [{"suffix_code": _unique("WID")}]]],
            }
        ],
    )
    (product,) = rpc.search_read(
        "product.product", [("template", "=", template_id)], ["code", "template"]
    )
    assert product["code"].startswith("WID-")

    # Sale: quotation, then confirmed ------------------------------------------------
    party_changes = rpc.model(
        "sale.sale",
        "on_change_party",
        {"party": party_id, "company": refs["company"], "currency": refs["currency_eur"]},
    )
    (sale_id,) = rpc.create(
        "sale.sale",
        [
            {
                "party": party_id,
                "invoice_address": party_changes["invoice_address"],
                "shipment_address": party_changes["shipment_address"],
                "payment_term": refs["payment_term"],
                "reference": _unique("CRM-OPP"),
                "lines": [
                    [
                        "create",
                        [
                            {
                                "product": product["id"],
                                "quantity": 2.0,
                                "unit": unit,
                                "unit_price": Decimal("100.00"),
                                "taxes": [["add", [refs["tax_vat20"]]]],
                            }
                        ],
                    ]
                ],
            }
        ],
    )
    rpc.button("sale.sale", "quote", [sale_id])
    (sale,) = rpc.read("sale.sale", [sale_id], ["state", "number", "total_amount"])
    assert sale["state"] == "quotation"
    assert sale["number"]
    assert sale["total_amount"] == Decimal("240.00")

    rpc.button("sale.sale", "confirm", [sale_id])
    (sale,) = rpc.read(
        "sale.sale",
        [sale_id],
        ["state", "invoice_state", "invoices", "untaxed_amount", "tax_amount", "total_amount"],
    )
    # With no worker configured, confirm runs the queued ``process`` in the same
    # request: the sale is already processing and its invoice exists.
    assert sale["state"] == "processing"
    assert (sale["untaxed_amount"], sale["tax_amount"], sale["total_amount"]) == (
        Decimal("200.00"),
        Decimal("40.00"),
        Decimal("240.00"),
    )
    (invoice,) = rpc.read("account.invoice", sale["invoices"], ["state", "total_amount"])
    assert invoice == {
        "id": sale["invoices"][0],
        "state": "draft",
        "total_amount": Decimal("240.00"),
    }


def test_price_list_on_change_and_invoice_post(rpc: TrytonRPC, tryton_server: Any) -> None:
    refs = tryton_server.refs
    unit = refs["uom_unit"]
    (party_id,) = rpc.create(
        "party.party",
        [
            {
                "name": _unique("Price list customer"),
                "sale_price_list": refs["price_list"],
                "addresses": [["create", [{"city": "Lyon"}]]],
            }
        ],
    )
    (template_id,) = rpc.create(
        "product.template",
        [
            {
                "name": "Consulting hour",
                "type": "service",
                "default_uom": unit,
                "sale_uom": unit,
                "salable": True,
                "list_price": Decimal("80.00"),
                "account_category": refs["account_category"],
                "products": [["create", [{"suffix_code": _unique("SRV")}]]],
            }
        ],
    )
    (product_id,) = rpc.search("product.product", [("template", "=", template_id)])

    header = rpc.model(
        "sale.sale",
        "on_change_party",
        {"party": party_id, "company": refs["company"], "currency": refs["currency_eur"]},
    )
    assert header["price_list"] == refs["price_list"]
    line = rpc.model(
        "sale.line",
        "on_change_product",
        {
            "type": "line",
            "product": product_id,
            "quantity": 3.0,
            "unit": unit,
            "_parent_sale.party": party_id,
            "_parent_sale.company": refs["company"],
            "_parent_sale.currency": refs["currency_eur"],
            "_parent_sale.price_list": header["price_list"],
            "_parent_sale.sale_date": None,
        },
    )
    assert line["unit_price"] == Decimal("72.0000")  # list price 80 minus 10 %
    # on_change answers One2Many/Many2Many changes in the client's own shape.
    tax_ids = [record["id"] for _, record in line["taxes"]["add"]]
    assert tax_ids == [refs["tax_vat20"]]

    (sale_id,) = rpc.create(
        "sale.sale",
        [
            {
                "party": party_id,
                "price_list": header["price_list"],
                "invoice_address": header["invoice_address"],
                "shipment_address": header["shipment_address"],
                "lines": [
                    [
                        "create",
                        [
                            {
                                "product": product_id,
                                "quantity": 3.0,
                                "unit": unit,
                                "unit_price": line["unit_price"],
                                "taxes": [["add", tax_ids]],
                            }
                        ],
                    ]
                ],
            }
        ],
    )
    rpc.button("sale.sale", "quote", [sale_id])
    rpc.button("sale.sale", "confirm", [sale_id])
    (sale,) = rpc.read("sale.sale", [sale_id], ["state", "invoices", "total_amount"])
    assert sale["total_amount"] == Decimal("259.20")
    rpc.button("account.invoice", "post", sale["invoices"])
    (invoice,) = rpc.read(
        "account.invoice", sale["invoices"], ["state", "number", "total_amount", "amount_to_pay"]
    )
    assert invoice["state"] == "posted"
    assert invoice["number"]
    assert invoice["amount_to_pay"] == invoice["total_amount"] == Decimal("259.20")


def test_archived_records_need_active_test_false(rpc: TrytonRPC) -> None:
    name = _unique("Archived")
    (party_id,) = rpc.create("party.party", [{"name": name}])
    rpc.write("party.party", [party_id], {"active": False})
    assert rpc.search("party.party", [("name", "=", name)]) == []
    assert rpc.search("party.party", [("name", "=", name)], context={"active_test": False}) == [
        party_id
    ]
    (row,) = rpc.search_read(
        "party.party",
        [
            ("last_modified_at", ">=", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
            ("id", "=", party_id),
        ],
        ["active", "last_modified_at"],
        context={"active_test": False},
    )
    assert not row["active"]
    assert row["last_modified_at"].tzinfo == dt.UTC


def test_lost_session_is_renewed(rpc: TrytonRPC) -> None:
    rpc.login()
    rpc._session = "not-a-session"  # what an expired session looks like to the client
    assert rpc.search("res.user", [("login", "=", "admin")]) == [1]
