"""Why a field has its value: a record's audit trail, found by any of its ids."""

from __future__ import annotations

import attrs

from crmerp._errors import UsageError
from crmerp.adapters import ENTITIES
from crmerp.state import AuditEntry, StateTx

__all__ = ["RecordHistory", "record_history", "run_changes"]


@attrs.frozen
class RecordHistory:
    """A record's field changes, newest first, with the ids it has in each system.

    ``native_ids`` maps a system (``fake-crm``, ``tryton``...) to the record's id
    there, for the systems it is linked in.
    """

    entity: str
    global_id: str
    native_ids: dict[str, str]
    changes: list[AuditEntry]


def record_history(
    tx: StateTx, systems: tuple[str, str], entity: str, record_id: str, limit: int | None
) -> RecordHistory:
    """The history of the record ``record_id`` names: a native id of one of
    ``systems`` or a global id."""
    if entity not in ENTITIES:
        raise UsageError(
            f"no entity {entity!r}; known: {', '.join(ENTITIES)}", code="history-entity"
        )
    global_id = _global_id(tx, systems, entity, record_id)
    linked = tx.links.by_global(entity, [global_id]).get(global_id, {})
    return RecordHistory(
        entity=entity,
        global_id=global_id,
        native_ids={system: native for system, (native, _seen) in linked.items()},
        changes=tx.log.history(entity, global_id, limit=limit),
    )


def _global_id(tx: StateTx, systems: tuple[str, str], entity: str, record_id: str) -> str:
    for system in systems:
        found = tx.links.by_native(entity, system, [record_id])
        if record_id in found:
            return found[record_id][0]
    if tx.links.by_global(entity, [record_id]) or tx.log.history(entity, record_id, limit=1):
        return record_id
    raise UsageError(
        f"no {entity} {record_id!r}: it is not an id in {systems[0]} or {systems[1]}, "
        "nor a global id this state knows",
        code="history-unknown",
    )


def run_changes(tx: StateTx, run_id: str) -> list[RecordHistory]:
    """What run ``run_id`` changed, record by record (in the order first touched)."""
    grouped: dict[tuple[str, str], list[AuditEntry]] = {}
    for change in reversed(tx.log.history(run_id=run_id)):
        grouped.setdefault((change.entity, change.global_id), []).append(change)
    linked: dict[str, dict[str, dict[str, tuple[str, str | None]]]] = {}
    for entity in {entity for entity, _ in grouped}:
        ids = [gid for e, gid in grouped if e == entity]
        linked[entity] = tx.links.by_global(entity, ids)
    return [
        RecordHistory(
            entity=entity,
            global_id=gid,
            native_ids={s: n for s, (n, _seen) in linked[entity].get(gid, {}).items()},
            changes=changes,
        )
        for (entity, gid), changes in grouped.items()
    ]
