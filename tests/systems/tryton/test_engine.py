"""The sync engine between the shipped fake CRM and a real Tryton, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crmerp.adapters.tryton import TrytonAdapter, TrytonRPC
from crmerp.state import open_state
from crmerp.sync import Rules, SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter

pytestmark = pytest.mark.live


@pytest.fixture
def tryton(fresh_tryton_server: Any) -> Iterator[tuple[TrytonAdapter, TrytonRPC]]:
    server = fresh_tryton_server
    adapter = TrytonAdapter(
        server.url, server.database, server.username, server.password, settle_seconds=0,
        product_defaults={"account_category": server.refs["account_category"]},
    )  # fmt: skip
    with TrytonRPC(server.url, server.database, server.username, server.password) as rpc:
        yield adapter, rpc
    adapter.close()


def test_a_crm_and_tryton_agree_and_stay_quiet(
    tryton: tuple[TrytonAdapter, TrytonRPC], tmp_path: Path
) -> None:
    erp, rpc = tryton
    crm = FakeCRM()
    crm.create("Account", Name="Brunner Bäckerei GmbH", Email__c="info@brunner.example",
               BillingAddress={"street": "Hauptstraße 1", "city": "München",
                               "countryCode": "DE"})  # fmt: skip
    (germany,) = rpc.search("country.country", [("code", "=", "DE")])
    (hotel,) = rpc.create("party.party", [{
        "name": "Hotel Alpenblick AG",
        "addresses": [["create", [{"city": "Garmisch", "country": germany, "invoice": True}]]],
        "contact_mechanisms": [["create", [{"type": "email",
                                             "value": "office@alpenblick.example"}]]],
    }])  # fmt: skip
    rpc.create("product.template", [{
        "name": "Coffee grinder Pro", "type": "goods", "default_uom": 1, "sale_uom": 1,
        "salable": True, "list_price": Decimal("249.00"),
        "products": [["create", [{"suffix_code": "GRD-001"}]]],
    }])  # fmt: skip

    state = open_state(f"sqlite:///{tmp_path / 'sync.db'}", create=True)
    engine = SyncEngine(crm=FakeCRMAdapter(crm), erp=erp, state=state, rules=Rules.default())
    first = engine.run()
    assert first.entity("customer").erp.created == 1  # Brunner reached Tryton
    assert first.entity("customer").crm.created == 1  # the hotel reached the CRM
    assert first.entity("product").crm.created == 1  # the catalogue flows to the CRM
    (brunner,) = rpc.search_read("party.party", [("name", "=", "Brunner Bäckerei GmbH")],
                                 ["email"])  # fmt: skip
    assert brunner["email"] == "info@brunner.example"
    assert crm.find("Account", Name="Hotel Alpenblick AG")

    assert engine.run().writes == 0  # converged: only echoes come back

    # An address edited in Tryton's address list (not through the party) is a
    # change of the customer, and reaches the CRM.
    (address,) = rpc.search("party.address", [("party", "=", hotel)])
    rpc.write("party.address", [address], {"city": "Mittenwald"})
    third = engine.run()
    assert third.entity("customer").crm.updated == 1
    (account,) = crm.find("Account", Name="Hotel Alpenblick AG")
    assert account["BillingAddress"]["city"] == "Mittenwald"
    assert engine.run().writes == 0
