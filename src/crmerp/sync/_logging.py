"""Log records of what a run did to the systems: every write, conflict and quarantine.

Through :mod:`logging`, logger ``crmerp.sync``, with the context as structured
fields (``extra``): ``run_id``, ``entity``, ``system``, ``native_id``,
``global_id`` and, by kind, ``kind`` (create, update, delete), ``field`` or
``reason``. Payloads and values are never logged: a record may hold personal data
and a system's answer may echo a credential.
"""

from __future__ import annotations

import logging

from crmerp.sync._context import RunContext

__all__ = ["log_conflict", "log_quarantine", "log_write"]

log = logging.getLogger("crmerp.sync")


def log_write(
    ctx: RunContext, entity: str, system: str, kind: str, native_id: str | None, global_id: str
) -> None:
    """One record written to ``system``."""
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s %s %s",
            kind,
            system,
            entity,
            native_id,
            extra=_fields(ctx, entity, system, native_id, global_id, kind=kind),
        )


def log_conflict(ctx: RunContext, entity: str, global_id: str, field: str, reason: str) -> None:
    """A field parked for a person."""
    if log.isEnabledFor(logging.WARNING):
        log.warning(
            "conflict parked: %s %s field %s (%s)",
            entity,
            global_id,
            field,
            reason,
            extra=_fields(ctx, entity, None, None, global_id, field=field, reason=reason),
        )


def log_quarantine(
    ctx: RunContext, entity: str, system: str, native_id: str, field: str | None, reason: str
) -> None:
    """A record set aside with its reason."""
    if log.isEnabledFor(logging.WARNING):
        log.warning(
            "quarantined: %s %s %s: %s",
            system,
            entity,
            native_id,
            reason,
            extra=_fields(ctx, entity, system, native_id, None, field=field, reason=reason),
        )


def _fields(
    ctx: RunContext,
    entity: str,
    system: str | None,
    native_id: str | None,
    global_id: str | None,
    **more: str | None,
) -> dict[str, str | None]:
    return {
        "run_id": ctx.run_id,
        "scope": ctx.scope,
        "entity": entity,
        "system": system,
        "native_id": native_id,
        "global_id": global_id,
        **more,
    }
