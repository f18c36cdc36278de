"""One state transaction bound to a scope, with a small repository per kind of state."""

from __future__ import annotations

from functools import cached_property

from crmerp.state._bases import Bases
from crmerp.state._cursors import Cursors
from crmerp.state._dialect import Session
from crmerp.state._inbox import Inbox
from crmerp.state._intents import Intents
from crmerp.state._leases import Leases
from crmerp.state._links import Links
from crmerp.state._log import Log
from crmerp.state._reviews import Reviews

__all__ = ["StateTx"]


class StateTx:
    """Everything done through one of these commits together or not at all.

    Get one from :meth:`crmerp.state.StateStore.transaction`; each attribute is a
    repository of one kind of state of the transaction's scope::

        with state.transaction("default") as tx:
            tx.links.by_native("customer", "fake-crm", ["1", "2"])
            tx.cursors.get("fake-crm", "customer")
    """

    def __init__(self, session: Session, scope: str) -> None:
        self.scope = scope
        self.session = session

    @cached_property
    def cursors(self) -> Cursors:
        """Where each change feed was last read up to."""
        return Cursors(self.session, self.scope)

    @cached_property
    def links(self) -> Links:
        """Native record -> global record, per system."""
        return Links(self.session, self.scope)

    @cached_property
    def bases(self) -> Bases:
        """The last agreed version of each record."""
        return Bases(self.session, self.scope)

    @cached_property
    def inbox(self) -> Inbox:
        """Pulled changes waiting to be merged and written."""
        return Inbox(self.session, self.scope)

    @cached_property
    def intents(self) -> Intents:
        """Remote writes recorded before they are sent."""
        return Intents(self.session, self.scope)

    @cached_property
    def reviews(self) -> Reviews:
        """Parked conflicts, match decisions and quarantined records."""
        return Reviews(self.session, self.scope)

    @cached_property
    def log(self) -> Log:
        """Runs and the field-level audit trail."""
        return Log(self.session, self.scope)

    @cached_property
    def leases(self) -> Leases:
        """Who may write the scope now."""
        return Leases(self.session, self.scope)
