"""Business derivations: records the engine makes from others (accepted quote -> order)."""

from __future__ import annotations

import attrs

from crmerp.state import InboxRow
from crmerp.sync._codec import deterministic_id, dumps
from crmerp.sync._context import ENGINE_SYSTEM
from crmerp.sync._merge import MergeOutcome

__all__ = ["derive"]

_ORDER_FIELDS = ("customer_id", "currency", "payment_terms", "lines", "number")


def derive(
    scope: str, entity: str, gid: str, outcome: MergeOutcome, convert_quotes: bool
) -> tuple[MergeOutcome, tuple[InboxRow, ...]]:
    """The outcome as it stands after derivations, and the records they stage.

    An accepted quote becomes ``converted`` and stages a confirmed order with the
    quote's customer, currency, terms and lines, under a global id derived from
    the quote's, so converting twice stages the same order.
    """
    if entity != "quote" or not convert_quotes or outcome.result.get("status") != "accepted":
        return outcome, ()
    result = {**outcome.result, "status": "converted"}
    # No instance: derived from the quote's global id, as every release did.
    order_id = deterministic_id(scope, "order", ENGINE_SYSTEM, "", gid)
    order = {k: result[k] for k in _ORDER_FIELDS if k in result}
    order.update(quote_id=gid, status="confirmed")
    row = InboxRow("order", ENGINE_SYSTEM, order_id, order_id, dumps(order), None)
    return attrs.evolve(outcome, result=result), (row,)
