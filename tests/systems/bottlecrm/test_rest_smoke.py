"""Smoke test of :class:`BottleCRMClient` against a real BottleCRM server.

One round trip per record type: create, read back (detail and list), update,
delete, and the error mapping for the cases the adapter will meet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx
import pytest

from crmerp.adapters.bottlecrm._client import BottleCRMClient
from crmerp.adapters.bottlecrm._errors import (
    BottleCRMAuthError,
    BottleCRMHTTPError,
    BottleCRMNotFound,
    BottleCRMRateLimited,
    BottleCRMValidationError,
)

if TYPE_CHECKING:
    from tests_systems_bottlecrm_server import BottleCRMServer

pytestmark = pytest.mark.live


@pytest.fixture
def client(bottlecrm_server: BottleCRMServer) -> Iterator[BottleCRMClient]:
    with BottleCRMClient(bottlecrm_server.base_url, bottlecrm_server.token, timeout=30) as c:
        yield c


def test_account_contact_product_opportunity_invoice_round_trip(client: BottleCRMClient) -> None:
    tag = uuid.uuid4().hex[:8]

    # -- account with an address
    account = client.create_account(
        {
            "name": f"Acme {tag} GmbH",
            "email": f"info-{tag}@acme.example",
            "phone": "+49 30 1234567",
            "website": "https://acme.example",
            "address_line": "Hauptstr. 1",
            "city": "Berlin",
            "state": "BE",
            "postcode": "10115",
            "country": "DE",
            "currency": "EUR",
        }
    )
    assert account["name"] == f"Acme {tag} GmbH"
    assert (account["address_line"], account["city"], account["postcode"], account["country"]) == (
        "Hauptstr. 1",
        "Berlin",
        "10115",
        "DE",
    )
    assert "updated_at" not in account  # documented gap: accounts carry no change stamp
    listed = {a["id"]: a for a in client.iter_accounts({"search": tag})}
    assert account["id"] in listed

    # names are unique per org, ignoring case
    with pytest.raises(BottleCRMValidationError) as dup:
        client.create_account({"name": f"ACME {tag} gmbh"})
    assert dup.value.status_code == 400
    assert "name" in dup.value.errors

    # -- contact on that account
    contact = client.create_contact(
        {
            "first_name": "Ada",
            "last_name": f"Lovelace {tag}",
            "email": f"ada-{tag}@acme.example",
            "phone": "+44 20 7946 0000",
            "account": account["id"],
            "title": "CTO",
            "source_ref": f"crmerp:{tag}",
        }
    )
    assert contact["account"] == account["id"]
    assert contact["source_ref"] == f"crmerp:{tag}"
    assert contact["updated_at"]
    assert contact["id"] in {c["id"] for c in client.iter_contacts({"search": tag})}

    # -- product
    product = client.create_product(
        {"name": f"Widget {tag}", "sku": f"W-{tag}", "price": Decimal("12.50"), "currency": "EUR"}
    )
    assert product["price"] == "12.50"
    assert client.get_product(product["id"])["sku"] == f"W-{tag}"
    assert product["id"] in {p["id"] for p in client.iter_products({"search": tag})}

    # -- opportunity with a line item
    deal = client.create_opportunity(
        {
            "name": f"Deal {tag}",
            "account": account["id"],
            "contacts": [contact["id"]],
            "currency": "EUR",
            "amount": "100.00",
            "closed_on": "2030-01-31",
        }
    )
    assert deal["account"] == {"id": account["id"], "name": account["name"]}
    assert deal["amount"] == "100.00"
    assert deal["stage_kind"] == "open"
    line = client.add_opportunity_line_item(
        deal["id"], {"product_id": product["id"], "quantity": "3"}
    )
    assert line["unit_price"] == "12.50"  # taken from the product
    assert line["total"] == "37.50"
    deal = client.get_opportunity(deal["id"])
    assert [li["id"] for li in deal["line_items"]] == [line["id"]]
    assert (deal["amount"], deal["amount_source"]) == ("37.50", "CALCULATED")
    assert deal["id"] in {o["id"] for o in client.iter_opportunities({"search": tag})}

    # -- invoice for the deal
    invoice = client.create_invoice(
        {
            "invoice_title": f"Invoice {tag}",
            "account_id": account["id"],
            "contact_id": contact["id"],
            "opportunity_id": deal["id"],
            "currency": "EUR",
            "issue_date": "2030-01-01",
            "due_date": "2030-01-31",
            "tax_rate": "19",
            "po_number": f"crmerp:{tag}",
            "line_items": [{"product": product["id"], "quantity": "2", "unit_price": "12.50"}],
        }
    )
    assert invoice["status"] == "Draft"
    assert (invoice["subtotal"], invoice["tax_amount"], invoice["total_amount"]) == (
        "25.00",
        "4.75",
        "29.75",
    )
    assert len(client.list_invoice_line_items(invoice["id"])) == 1
    rows = {i["id"]: i for i in client.iter_invoices({"search": tag})}
    assert rows[invoice["id"]]["account"] == account["id"]

    # -- updates
    account = client.update_account(account["id"], {"city": "Potsdam", "postcode": "14467"})
    assert (account["city"], account["postcode"], account["address_line"]) == (
        "Potsdam",
        "14467",
        "Hauptstr. 1",
    )
    contact = client.update_contact(contact["id"], {"title": "CEO"})
    assert (contact["title"], contact["last_name"]) == ("CEO", f"Lovelace {tag}")
    deal = client.update_opportunity(deal["id"], {"probability": 50, "description": "updated"})
    assert (deal["probability"], deal["description"]) == (50, "updated")
    product = client.update_product(product["id"], {"price": "15.00"})
    assert product["price"] == "15.00"
    invoice = client.update_invoice(invoice["id"], {"notes": "thanks"})
    assert invoice["notes"] == "thanks"

    # -- deletes: invoices cannot be deleted, only cancelled
    with pytest.raises(BottleCRMHTTPError) as no_delete:
        client.request("DELETE", f"/api/invoices/{invoice['id']}/")
    assert no_delete.value.status_code == 405
    assert client.cancel_invoice(invoice["id"])["status"] == "Cancelled"

    client.delete_opportunity_line_item(deal["id"], line["id"])
    assert client.list_opportunity_line_items(deal["id"]) == []
    client.delete_opportunity(deal["id"])
    with pytest.raises(BottleCRMNotFound):
        client.get_opportunity(deal["id"])
    client.delete_contact(contact["id"])
    with pytest.raises(BottleCRMNotFound):
        client.get_contact(contact["id"])
    client.delete_product(product["id"])
    with pytest.raises(BottleCRMNotFound):
        client.get_product(product["id"])
    # The (cancelled) invoice still points at the account, which blocks its delete.
    with pytest.raises(BottleCRMHTTPError) as blocked:
        client.delete_account(account["id"])
    assert blocked.value.status_code == 409


def test_account_delete(client: BottleCRMClient) -> None:
    account = client.create_account({"name": f"Delete me {uuid.uuid4().hex[:8]}"})
    client.delete_account(account["id"])
    with pytest.raises(BottleCRMNotFound) as gone:
        client.get_account(account["id"])
    assert gone.value.status_code == 404
    assert account["id"] not in {a["id"] for a in client.iter_accounts()}


def test_pagination_walks_every_page(
    client: BottleCRMClient, bottlecrm_server: BottleCRMServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    products = {client.create_product({"name": f"Pager {tag} {n}"})["id"] for n in range(5)}
    accounts = {client.create_account({"name": f"Pager {tag} {n}"})["id"] for n in range(3)}
    client.update_account(next(iter(accounts)), {"is_active": False})
    with BottleCRMClient(bottlecrm_server.base_url, bottlecrm_server.token, page_size=2) as small:
        page = small.list_products(params={"search": tag})
        assert (len(page.items), page.total, page.has_more) == (2, 5, True)
        assert {p["id"] for p in small.iter_products({"search": tag})} == products
        # Accounts page their active and inactive halves together.
        seen = [a["id"] for a in small.iter_accounts({"search": tag})]
        assert sorted(seen) == sorted(accounts)
    for product_id in products:
        client.delete_product(product_id)
    for account_id in accounts:
        client.delete_account(account_id)


def test_bad_token_is_an_auth_error(bottlecrm_server: BottleCRMServer) -> None:
    with (
        BottleCRMClient(bottlecrm_server.base_url, "bcrm_pat_not-a-token") as bad,
        pytest.raises(BottleCRMAuthError) as refused,
    ):
        bad.list_contacts()
    assert refused.value.status_code == 403
    assert refused.value.body == {"detail": "Organization context is required. Please login again."}


def test_429_carries_retry_after() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"})

    with (
        BottleCRMClient("http://bottlecrm.invalid", "t", transport=httpx.MockTransport(reply)) as c,
        pytest.raises(BottleCRMRateLimited) as limited,
    ):
        c.list_products()
    assert limited.value.retry_after == 7.0
    assert limited.value.body == {"detail": "slow down"}
