"""Readable names for the records conflicts are about ("Café Huber GmbH", not an id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from crmerp._errors import CrmErpError

if TYPE_CHECKING:
    from crmerp.adapters import Adapter
    from crmerp.models import CanonicalModel
    from crmerp.state import ConflictRecord
    from crmerp.sync import SyncEngine

__all__ = ["label_of", "record_labels"]


def label_of(record: CanonicalModel) -> str:
    """A short human name: a customer's name, a product's SKU and name, a document's number."""
    sku = getattr(record, "sku", None)
    name = getattr(record, "name", None)
    if sku:
        return f"{sku} {name}" if name else str(sku)
    if name:
        return str(name)
    number = getattr(record, "number", None)
    return f"{record.entity} {number}" if number else record.entity


def record_labels(
    engine: SyncEngine, conflicts: Sequence[ConflictRecord]
) -> dict[tuple[str, int], str]:
    """``(side, conflict id) -> label`` for the records of these conflicts, where found.

    Records are fetched in one call per entity and side; a system that cannot
    answer leaves its records unlabelled rather than failing the listing.
    """
    wanted = _native_ids(engine, conflicts)
    labels: dict[tuple[str, int], str] = {}
    for (side, entity), by_conflict in wanted.items():
        adapter = engine.crm if side == "crm" else engine.erp
        names = _fetch_labels(adapter, entity, sorted(set(by_conflict.values())))
        for conflict_id, native_id in by_conflict.items():
            if native_id in names:
                labels[(side, conflict_id)] = names[native_id]
    return labels


def _native_ids(
    engine: SyncEngine, conflicts: Sequence[ConflictRecord]
) -> dict[tuple[str, str], dict[int, str]]:
    wanted: dict[tuple[str, str], dict[int, str]] = {}
    fields = [c for c in conflicts if c.kind != "match"]
    for conflict in conflicts:
        if conflict.kind == "match":
            wanted.setdefault(("crm", conflict.entity), {})[conflict.id] = str(conflict.crm)
            wanted.setdefault(("erp", conflict.entity), {})[conflict.id] = str(conflict.erp)
    with engine.state.transaction(engine.scope) as tx:
        for entity in sorted({c.entity for c in fields}):
            of_entity = [c for c in fields if c.entity == entity]
            links = tx.links.by_global(entity, sorted({c.global_id for c in of_entity}))
            for conflict in of_entity:
                systems = links.get(conflict.global_id, {})
                for side, adapter in (("crm", engine.crm), ("erp", engine.erp)):
                    if adapter.system in systems:
                        wanted.setdefault((side, entity), {})[conflict.id] = systems[
                            adapter.system
                        ][0]
    return wanted


def _fetch_labels(adapter: Adapter, entity: str, ids: list[str]) -> dict[str, str]:
    try:
        records = adapter.fetch(entity, ids)
    except (CrmErpError, OSError):
        return {}
    labels = {}
    for record in records:
        try:
            labels[record.id] = label_of(adapter.to_canonical(entity, record))
        except CrmErpError:
            labels[record.id] = record.id
    return labels
