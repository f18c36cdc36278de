"""A person's decisions (a conflict settled, a record retried) in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crmerp.state import ConflictRecord, QuarantineRecord, StateTx

__all__ = ["DECISIONS_RUN", "record_decision", "record_retries"]

DECISIONS_RUN = "decision"
"""The run id of audit lines a person's decision wrote (not a sync run)."""


def _who(by: str | None) -> str:
    return f"person:{by}" if by else "person"


def record_decision(
    tx: StateTx, conflict: ConflictRecord, decided: str, value: Any, by: str | None
) -> None:
    """One audit line: who settled ``conflict`` and how (``pick crm``, ``value``...)."""
    tx.log.audit(
        DECISIONS_RUN,
        [
            {
                "entity": conflict.entity,
                "global_id": conflict.global_id,
                "field": conflict.field,
                "old": None,
                "new": json.dumps(value, default=str) if value is not None else None,
                "origin": _who(by),
                "rule": f"decided:{decided}",
            }
        ],
    )


def record_retries(tx: StateTx, items: Sequence[QuarantineRecord], by: str | None) -> None:
    """One audit line per quarantined record put back in line, naming who did it."""
    rows = []
    for item in items:
        linked = tx.links.by_native(item.entity, item.system, [item.native_id])
        global_id = linked[item.native_id][0] if item.native_id in linked else item.native_id
        rows.append(
            {
                "entity": item.entity,
                "global_id": global_id,
                "field": item.field or "*",
                "old": None,
                "new": None,
                "origin": _who(by),
                "rule": "decided:retry",
            }
        )
    tx.log.audit(DECISIONS_RUN, rows)
