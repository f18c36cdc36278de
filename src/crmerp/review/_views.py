"""What the review pages show: conflicts with readable names, records side by side."""

from __future__ import annotations

import json
from typing import Any

from crmerp._errors import CrmErpError
from crmerp.adapters import Adapter
from crmerp.cli._labels import record_labels
from crmerp.state import ConflictRecord
from crmerp.sync import SyncEngine

__all__ = ["conflict_view", "conflicts_view", "shown", "side_by_side"]


def shown(value: Any) -> str:
    """A value as a person reads it: text as it is, nothing as a dash, the rest as JSON."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def conflicts_view(engine: SyncEngine, conflicts: list[ConflictRecord]) -> list[dict[str, Any]]:
    """One row per conflict: what it is about and a readable name of the record."""
    labels = record_labels(engine, conflicts)
    return [
        {
            "id": c.id,
            "kind": "match review" if c.kind == "match" else "field conflict",
            "entity": c.entity,
            "field": c.field if c.kind != "match" else "",
            "crm_label": labels.get(("crm", c.id), str(c.crm) if c.kind == "match" else ""),
            "erp_label": labels.get(("erp", c.id), str(c.erp) if c.kind == "match" else ""),
            "crm": shown(c.crm) if c.kind != "match" else "",
            "erp": shown(c.erp) if c.kind != "match" else "",
        }
        for c in conflicts
    ]


def conflict_view(engine: SyncEngine, conflict: ConflictRecord) -> dict[str, Any]:
    """Everything the page of one conflict shows."""
    (row,) = conflicts_view(engine, [conflict])
    detail = conflict.detail if isinstance(conflict.detail, dict) else {}
    view: dict[str, Any] = {
        **row,
        "match": conflict.kind == "match",
        "status": str(conflict.status),
        "base": shown(conflict.base),
        "reason": detail.get("reason", ""),
        "score": detail.get("score"),
        "evidence": [
            {"name": name, "weight": f"{weight:+.2f}"}
            for name, weight in detail.get("explanation", [])
        ],
        "differ": [],
    }
    if conflict.kind == "match":
        view["differ"] = side_by_side(engine, conflict.entity, str(conflict.crm), str(conflict.erp))
    return view


def side_by_side(engine: SyncEngine, entity: str, crm_id: str, erp_id: str) -> list[dict[str, str]]:
    """The canonical fields in which the two records differ, each side's value."""
    crm, erp = _canonical(engine.crm, entity, crm_id), _canonical(engine.erp, entity, erp_id)
    if crm is None or erp is None:
        return []
    return [
        {"field": name, "crm": shown(crm.get(name)), "erp": shown(erp.get(name))}
        for name in sorted(set(crm) | set(erp))
        if crm.get(name) != erp.get(name) and name not in {"id", "global_id"}
    ]


def _canonical(adapter: Adapter, entity: str, native_id: str) -> dict[str, Any] | None:
    try:
        (record,) = adapter.fetch(entity, [native_id])
        model = adapter.to_canonical(entity, record)
    except (CrmErpError, OSError, ValueError):  # gone, or unreadable: show what is known
        return None
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped
