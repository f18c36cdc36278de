"""Per-run context shared by the pull and apply phases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
from sqlalchemy import Connection

from crmerp._errors import AdapterError, CrmErpError
from crmerp.adapters import Adapter, Capabilities
from crmerp.match import Matcher
from crmerp.state import StateStore, StateTx
from crmerp.sync._report import SyncReport
from crmerp.sync._retry import Retrier
from crmerp.sync._rules import Rules
from crmerp.sync._unit import Unit

__all__ = ["ENGINE_SYSTEM", "RunContext", "Side", "foreign", "instance_of"]

ENGINE_SYSTEM = "crmerp"
"""Pseudo-system of staged rows the engine makes itself (re-checks, derived records)."""


def foreign(what: str, exc: Exception) -> AdapterError:
    """The named error for an exception an adapter raised outside crmerp's tree."""
    return AdapterError(f"{what} raised {type(exc).__name__}: {exc}", call=what)


def instance_of(adapter: Adapter) -> str:
    """The instance an adapter speaks to: the name configured, else its own answer."""
    return adapter.instance_name or adapter.instance()


@attrs.define
class Side:
    """One of the two systems in a run."""

    name: str
    adapter: Adapter
    caps: Capabilities

    @property
    def system(self) -> str:
        """The adapter's system name, as used in the state."""
        return self.adapter.system

    @property
    def instance(self) -> str:
        """The instance the adapter speaks to (see :meth:`Adapter.instance`)."""
        return instance_of(self.adapter)

    def reads(self, entity: str) -> bool:
        """True when this side can be read for ``entity``."""
        return entity in self.caps.readable and entity in self.adapter.mappings

    def writes(self, entity: str) -> bool:
        """True when this side can be written for ``entity``."""
        return entity in self.caps.writable and entity in self.adapter.mappings

    def carried(self, entity: str) -> frozenset[str]:
        """Canonical fields this side holds for ``entity``."""
        if entity not in self.adapter.mappings:
            return frozenset()
        return self.adapter.mapping(entity).carried


@attrs.define
class RunContext:
    """Everything one run needs: sides, state, rules, report, and the run's mode."""

    scope: str
    run_id: str
    crm: Side
    erp: Side
    state: StateStore
    rules: Rules
    matcher: Matcher | None
    report: SyncReport
    retrier: Retrier
    batch_size: int
    worker_id: str
    lease_ttl: timedelta
    boundary: Callable[[str], None]
    progress: Callable[[str, str, int], None]
    dry_conn: Connection | None = None
    instance: str = ""
    """The engine instance holding the run's leases (worker id plus a nonce)."""
    tokens: dict[str, int] = attrs.Factory(dict)
    """Unit key -> fencing token taken, for every unit this run holds."""

    def unit(self, entity: str) -> Unit:
        """The unit of work of ``entity`` in this run (today: its whole partition)."""
        return Unit(self.scope, entity)

    @property
    def dry(self) -> bool:
        """True for a plan: nothing is written, the state is rolled back."""
        return self.dry_conn is not None

    def sides(self) -> tuple[Side, Side]:
        """Both sides, CRM first."""
        return (self.crm, self.erp)

    def side(self, name: str) -> Side:
        """The side called ``name``."""
        return self.crm if name == "crm" else self.erp

    def side_of(self, system: str) -> Side | None:
        """The side whose adapter is ``system``."""
        for side in self.sides():
            if side.system == system:
                return side
        return None

    def other(self, side: Side) -> Side:
        """The side that is not ``side``."""
        return self.erp if side is self.crm else self.crm

    @contextmanager
    def tx(self, *fenced: Unit) -> Iterator[StateTx]:
        """A state transaction of the run's scope; in a plan, part of the one
        transaction rolled back at its end.

        A commit on behalf of units of work names them: the transaction first
        checks that this run still holds their leases with the tokens it took
        (and renews the run's leases), else raises :class:`~crmerp.LeaseLost`
        and writes nothing.
        """
        if self.dry_conn is not None:
            yield self.state.bind(self.dry_conn, self.scope)
            return
        with self.state.transaction(self.scope) as tx:
            if fenced and self.tokens:
                tx.leases.check(
                    self.instance,
                    self.tokens,
                    self.lease_ttl,
                    checked=[u.key for u in fenced],
                )
            yield tx

    def check_lease(self, unit: Unit) -> None:
        """Raise :class:`~crmerp.LeaseLost` unless this run still holds ``unit``
        (renewing its leases); for a remote write, which no transaction covers."""
        with self.tx(unit):
            pass

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Call an adapter through the run's retry policy.

        An exception from outside crmerp's error tree (an adapter's own, or its
        client library's) stops the run as an :class:`~crmerp.AdapterError`
        naming the call, with the original as its cause.
        """
        try:
            return self.retrier.call(what, fn)
        except CrmErpError:
            raise
        except Exception as exc:
            raise foreign(what, exc) from exc
