"""Rows read from and written to the state, as attrs value objects."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

__all__ = [
    "AuditEntry",
    "ConflictRecord",
    "ConflictStatus",
    "InboxRow",
    "InboxStatus",
    "IntentRow",
    "IntentStatus",
    "LeaseRow",
    "QuarantineRecord",
]


class InboxStatus(StrEnum):
    """Where a staged change stands.

    ``pending`` changes are merged at every pass (their note says why one waited
    last time); ``review`` changes wait for a person to settle a match review;
    ``failed`` changes wait until the record they depend on is retried from
    quarantine (:meth:`~crmerp.sync.SyncEngine.retry_quarantined`).
    """

    PENDING = "pending"
    REVIEW = "review"
    FAILED = "failed"


class IntentStatus(StrEnum):
    """Where a recorded write stands: sent or about to be (``pending``), its outcome
    committed (``done``), or settled by recovery after a crash (``recovered``)."""

    PENDING = "pending"
    DONE = "done"
    RECOVERED = "recovered"


class ConflictStatus(StrEnum):
    """A parked conflict is ``open`` until a person settles it (``resolved``) and
    the next run applies that decision (``applied``)."""

    OPEN = "open"
    RESOLVED = "resolved"
    APPLIED = "applied"


@attrs.frozen
class InboxRow:
    """A pulled change waiting to be merged and written (durable across crashes).

    ``new`` marks a record no link or stamped reference ties to a global id yet:
    the matcher may still pair it with a new record of the other system.
    ``status`` says whether it is merged at the next pass, and ``note`` why it
    waited or what holds it.
    ``version`` is the record's version as it was read (see
    :attr:`crmerp.adapters.NativeRecord.version`): the engine's writes based on
    this row expect it.
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
    status: InboxStatus = InboxStatus.PENDING
    version: str | None = None
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
    unit: str = ""
    """The key of the unit of work that recorded it (see :class:`crmerp.sync.Unit`)."""


@attrs.frozen
class LeaseRow:
    """The lease on one unit of work, as stored.

    ``holder`` is the worker's name, ``instance`` the engine instance holding it;
    ``token`` is the fencing token, which grows at every take-over by another
    instance. A lease whose ``expires_at`` has passed is free to take over.
    """

    scope: str
    unit: str
    holder: str
    instance: str
    token: int
    expires_at: datetime


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
    status: ConflictStatus
    resolution: Any
    created_at: datetime
    resolved_at: datetime | None


@attrs.frozen
class AuditEntry:
    """One line of the audit trail: a field of a record that a run changed.

    ``old`` and ``new`` are the canonical values (as JSON-ready data) before and
    after; ``origin`` the side the value came from (``crm``, ``erp``, or
    ``engine`` for a person's resolution), ``rule`` what decided it
    (``only-change``: one side changed it; ``owner:erp``: that side owns the field;
    ``latest``, ``function:...``, ``resolved``...), ``run_id`` and ``at`` which run
    and when. A record seen for the first time has one line with field ``*`` and
    rule ``first-seen``, its origin naming where it was found.
    """

    entity: str
    global_id: str
    field: str
    old: Any
    new: Any
    origin: str
    rule: str
    run_id: str
    at: datetime


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
