"""Leasing: take every unit of a run at its start, and tell dead holders from live ones.

A run leases all the units of work it covers in one transaction, all or none, so a
second worker on the same units stops at once and recovery knows which intents
are its own. A lease left by an engine instance that can no longer run (its
process is gone, or it is of this process and its run raised) is taken over at
once; any other live lease stops the run with :class:`~crmerp.LeaseHeld`, after
waiting up to ``lease_wait`` for it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from crmerp._errors import LeaseHeld, UsageError
from crmerp.state import StateStore
from crmerp.sync._context import RunContext
from crmerp.sync._unit import Unit

__all__ = ["RUNNING", "HeldLeases", "dead_instance", "instance_name", "take_leases"]

LEASE_POLL = timedelta(seconds=5)
"""How often a run waiting for a lease (``lease_wait``) tries again."""

RUNNING: set[str] = set()
"""Instances of this process inside a run (their leases are live, whatever the clock)."""


def instance_name(worker_id: str) -> str:
    """``worker_id@host:pid:nonce``: one engine instance of one process."""
    return f"{worker_id}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def take_leases(
    ctx: RunContext,
    units: Sequence[Unit],
    *,
    lease_wait: timedelta,
    sleep: Callable[[float], None],
) -> dict[str, int]:
    """Lease every unit of the run at once, all or none; returns their tokens."""
    dead: set[str] = set()
    waited = timedelta(0)
    while True:
        try:
            with ctx.tx() as tx:
                return {
                    unit.key: tx.leases.acquire(
                        ctx.worker_id,
                        ctx.lease_ttl,
                        unit=unit.key,
                        instance=ctx.instance,
                        take_from=sorted(dead),
                    )
                    for unit in units
                }
        except LeaseHeld as held:
            gone = held.instance
            if gone is not None and gone not in dead and dead_instance(gone):
                dead.add(gone)
                continue
            if waited >= lease_wait:
                raise
            pause = min(LEASE_POLL, lease_wait - waited)
            sleep(pause.total_seconds())
            waited += pause


def dead_instance(instance: str) -> bool:
    """True when ``instance`` is an engine of this host that can no longer run:
    its process is gone, or it is of this process and not inside a run (its run
    raised before releasing its leases)."""
    _worker, _, where = instance.rpartition("@")
    host, _, rest = where.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        return instance not in RUNNING
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class HeldLeases:
    """Leases an engine instance holds across runs (a watcher's), until released."""

    def __init__(
        self,
        state: StateStore,
        scope: str,
        worker_id: str,
        instance: str,
        ttl: timedelta,
        entities: Sequence[str],
        tokens: dict[str, int],
    ) -> None:
        self.state = state
        self.scope = scope
        self.worker_id = worker_id
        self.instance = instance
        self.ttl = ttl
        self.entities = list(entities)
        """The entities whose units are held, in dependency order."""
        self.tokens = tokens
        """Unit key -> fencing token taken."""
        self.released = False

    def covers(self, units: Sequence[Unit]) -> None:
        """A :class:`~crmerp.UsageError` unless every unit is held."""
        missing = [u.key for u in units if u.key not in self.tokens]
        if missing or self.released:
            raise UsageError(
                f"the run needs units {missing or [u.key for u in units]} the hold lacks",
                code="engine-hold",
            )

    def renew(self) -> None:
        """Renew every held lease; :class:`~crmerp.LeaseLost` if another took one."""
        with self.state.transaction(self.scope) as tx:
            tx.leases.check(self.instance, self.tokens, self.ttl, checked=self.tokens)

    def release(self) -> None:
        """Give the leases up (those still this instance's); idempotent."""
        if self.released:
            return
        self.released = True
        try:
            with self.state.transaction(self.scope) as tx:
                tx.leases.release(self.worker_id, units=list(self.tokens), instance=self.instance)
        finally:
            RUNNING.discard(self.instance)
