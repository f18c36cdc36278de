"""The standard adapter conformance suite, run against a real Tryton server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from crmerp.adapters.tryton import TrytonAdapter
from crmerp.models import CanonicalModel, Customer, Money, Order, OrderStatus, Product
from crmerp.testing.conformance import AdapterConformance, SampleFactory, sample_record

pytestmark = pytest.mark.live


def _for_tryton(record: CanonicalModel, tag: str) -> CanonicalModel:
    """The suite's sample, adjusted to what this Tryton database holds.

    * SKUs are unique among active products: tagged, should a check write twice.
    * "net 30" is not a payment term of the test database: "Immediate" is.
    * Orders are drafts: Tryton accepts no change to a confirmed sale, and the
      suite updates what it wrote (confirmation is tested in test_adapter.py).
    * Units are Tryton's unit names ("hour", not the symbol "h", which is
      accepted on write but reads back as the name).
    * A discount is folded into the sale line's price; 20.00 less 5 % keeps the
      net price in whole cents, so Tryton's tax (computed on the unrounded line)
      and crmerp's (on the rounded line) agree. See docs/systems/tryton.md.
    """
    if isinstance(record, Customer):
        return record.model_copy(update={"name": f"{record.name} {tag}",
                                         "payment_terms": "Immediate"})  # fmt: skip
    if isinstance(record, Product):
        return record.model_copy(update={"sku": f"{record.sku}-{tag}"})
    if isinstance(record, Order):
        lines = [
            line.model_copy(
                update={
                    "unit": "hour" if line.unit == "h" else line.unit,
                    "unit_price": Money("20.00", "EUR")
                    if line.discount_percent
                    else line.unit_price,
                }
            )
            for line in record.lines
        ]
        data = record.model_dump(exclude={"subtotal", "tax_total", "total"})
        data.update(lines=lines, payment_terms="Immediate", status=OrderStatus.DRAFT, number="")
        return Order.model_validate(data)
    return record


class TestTrytonConformance(AdapterConformance):
    """Every conformance check, each on a fresh server: the checks read whole tables."""

    @pytest.fixture
    def adapter(self, fresh_tryton_server: Any) -> Iterator[TrytonAdapter]:
        server = fresh_tryton_server
        adapter = TrytonAdapter(
            server.url,
            server.database,
            server.username,
            server.password,
            settle_seconds=0,
            product_defaults={"account_category": server.refs["account_category"]},
        )
        yield adapter
        adapter.close()

    @pytest.fixture
    def make_canonical(self) -> SampleFactory:
        tag = uuid.uuid4().hex[:8]

        def tagged(entity: str, n: int, refs: Mapping[str, Sequence[str]]) -> CanonicalModel:
            return _for_tryton(sample_record(entity, n, refs), tag)

        return tagged


def test_samples_keep_their_totals() -> None:
    """The adjusted order sample is still a valid order with whole-cent net prices."""
    order = _for_tryton(sample_record("order", 3, {"customer": ["1"], "product": ["2"]}), "x")
    assert isinstance(order, Order)
    assert order.status is OrderStatus.DRAFT
    for line in order.lines:
        net = line.unit_price.amount * (100 - line.discount_percent) / 100
        assert net == net.quantize(Decimal("0.01"))
