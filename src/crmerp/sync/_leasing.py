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

from crmerp._errors import LeaseHeld
from crmerp.sync._context import RunContext
from crmerp.sync._unit import Unit

__all__ = ["RUNNING", "dead_instance", "instance_name", "take_leases"]

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
