"""A small company on the two fakes, and an engine over them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

from crmerp.state import StateStore, open_state
from crmerp.sync import Rules, SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


@attrs.define
class World:
    """Both fake systems, their adapters, a state and a way to make engines."""

    crm: FakeCRM
    erp: FakeERP
    crm_adapter: FakeCRMAdapter
    erp_adapter: FakeERPAdapter
    state: StateStore
    url: str
    rules: Rules = attrs.Factory(Rules.default)

    def engine(self, **options: Any) -> SyncEngine:
        options.setdefault("rules", self.rules)
        return SyncEngine(crm=self.crm_adapter, erp=self.erp_adapter, state=self.state, **options)


@pytest.fixture
def world(state_url: str) -> Iterator[World]:
    crm, erp = FakeCRM(), FakeERP()
    state = open_state(state_url, create=True)
    yield World(crm, erp, FakeCRMAdapter(crm), FakeERPAdapter(erp), state, state_url)
    state.close()


def seed_catalogue(erp: FakeERP, currency: str = "EUR") -> dict[str, Any]:
    """Two products and a price list with a quantity break and a discount."""
    bolt = erp.create("product.product", code="BOLT-1", name="Bolt M6", default_uom="unit")
    nut = erp.create(
        "product.product", code="NUT-1", name="Nut M6", default_uom="unit", type="goods"
    )
    prices = erp.create(
        "product.price_list",
        name="EU 2025",
        currency=currency,
        lines=[
            {
                "product": bolt,
                "unit_price": Decimal("0.40"),
                "quantity": Decimal(1),
                "discount": Decimal(0),
            },
            {
                "product": bolt,
                "unit_price": Decimal("0.40"),
                "quantity": Decimal(100),
                "discount": Decimal("10"),
            },
            {
                "product": nut,
                "unit_price": Decimal("0.15"),
                "quantity": Decimal(1),
                "discount": Decimal(0),
            },
        ],
    )
    return {"bolt": bolt, "nut": nut, "prices": prices}


def crm_account(crm: FakeCRM, name: str, email: str, **extra: Any) -> str:
    """An account as a CRM user enters it."""
    return crm.create("Account", Name=name, Email__c=email, **extra)


def crm_order(
    crm: FakeCRM, account: str, product: str, quantity: int = 1, price: str = "0.40"
) -> str:
    """An activated order of one line in euros, as a CRM user enters it."""
    line = {
        "Product2Id": product,
        "Quantity": Decimal(quantity),
        "UnitPrice": Decimal(price),
        "CurrencyIsoCode": "EUR",
    }
    return crm.create(
        "Order",
        AccountId=account,
        Status="Activated",
        CurrencyIsoCode="EUR",
        OrderItems={"records": [line]},
    )


def erp_party(erp: FakeERP, name: str, email: str, **extra: Any) -> int:
    """A party as an ERP user enters it."""
    return erp.create(
        "party.party", name=name, contact_mechanisms=[{"type": "email", "value": email}], **extra
    )
