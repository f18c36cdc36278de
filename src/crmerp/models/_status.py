"""Lifecycle statuses of quotes, orders and invoices, with their allowed transitions."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from crmerp._errors import IllegalTransition

__all__ = ["InvoiceStatus", "LifecycleStatus", "OrderStatus", "QuoteStatus"]


class LifecycleStatus(StrEnum):
    """A status enum that knows which statuses may follow each member."""

    _transitions: ClassVar[dict[str, frozenset[str]]]
    _entity: ClassVar[str]

    def allowed_next(self) -> frozenset[Self]:
        """The statuses this one may move to."""
        return frozenset(type(self)(s) for s in self._transitions.get(self.value, frozenset()))

    def can_become(self, target: Self | str) -> bool:
        """True when moving from this status to ``target`` is allowed."""
        return str(target) in self._transitions.get(self.value, frozenset())

    def check_transition(self, target: Self | str) -> Self:
        """Return ``target`` as a member, or raise :class:`~crmerp.IllegalTransition`."""
        member = type(self)(target)
        if not self.can_become(member):
            raise IllegalTransition(self.value, member.value, entity=self._entity)
        return member

    @property
    def is_final(self) -> bool:
        """True when no status may follow this one."""
        return not self._transitions.get(self.value)


class QuoteStatus(LifecycleStatus):
    """draft -> sent -> accepted | rejected | expired; accepted -> converted."""

    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CONVERTED = "converted"


QuoteStatus._entity = "quote"
QuoteStatus._transitions = {
    "draft": frozenset({"sent"}),
    "sent": frozenset({"accepted", "rejected", "expired"}),
    "accepted": frozenset({"converted"}),
}


class OrderStatus(LifecycleStatus):
    """draft -> confirmed -> fulfilled -> invoiced; draft or confirmed -> cancelled."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


OrderStatus._entity = "order"
OrderStatus._transitions = {
    "draft": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"fulfilled", "cancelled"}),
    "fulfilled": frozenset({"invoiced"}),
}


class InvoiceStatus(LifecycleStatus):
    """draft -> posted -> paid | cancelled; draft -> cancelled."""

    DRAFT = "draft"
    POSTED = "posted"
    PAID = "paid"
    CANCELLED = "cancelled"


InvoiceStatus._entity = "invoice"
InvoiceStatus._transitions = {
    "draft": frozenset({"posted", "cancelled"}),
    "posted": frozenset({"paid", "cancelled"}),
}
