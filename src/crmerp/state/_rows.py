"""Rows read from and written to the state, as attrs value objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["ConflictRecord", "InboxRow", "IntentRow", "QuarantineRecord"]


@attrs.frozen
class InboxRow:
    """A pulled change waiting to be merged and written (durable across crashes).

    ``new`` marks a record no link or stamped reference ties to a global id yet:
    the matcher may still pair it with a new record of the other system.
    ``raw_hash`` is the raw hash of the native payload ``data`` was read from
    (None when unknown); it goes to the link when the change is applied.
    """

    entity: str
    system: str
    native_id: str
    global_id: str | None
    data: str | None
    stamp: datetime | None
    deleted: bool = False
    new: bool = False
    attempts: int = 0
    note: str | None = None
    raw_hash: str | None = None


@attrs.frozen
class IntentRow:
    """A remote write recorded before it is sent."""

    id: int
    entity: str
    system: str
    global_id: str
    kind: str
    reference: str
    native_id: str | None
    payload_hash: str
    run_id: str


@attrs.frozen
class ConflictRecord:
    """A field both sides changed differently, or a match for a person to review.

    ``kind`` is ``"field"`` or ``"match"``. Values are JSON text as stored.
    """

    id: int
    kind: str
    entity: str
    global_id: str
    field: str
    base: Any
    crm: Any
    erp: Any
    detail: Any
    status: str
    resolution: Any
    created_at: datetime
    resolved_at: datetime | None


@attrs.frozen
class QuarantineRecord:
    """A record set aside because its data is bad, with the reason."""

    id: int
    entity: str
    system: str
    native_id: str
    field: str | None
    reason: str
    payload: Any
    created_at: datetime
