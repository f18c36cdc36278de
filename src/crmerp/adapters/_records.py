"""Value objects that cross the adapter boundary: native records, pages, writes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from crmerp._errors import DataError, RetryableError

__all__ = [
    "ENTITIES",
    "Capabilities",
    "NativeRecord",
    "Page",
    "WriteKind",
    "WriteOp",
    "WriteResult",
    "WriteStatus",
    "answer_for",
    "global_id_of",
    "reference_for",
    "stamped_for",
]

ENTITIES: tuple[str, ...] = ("customer", "product", "price_list", "quote", "order", "invoice")
"""Entity names in dependency order: parents before the records that point at them."""

REFERENCE_PREFIX = "crmerp:"
_INSTANCE_MARK = "@"


def instance_tag(instance: str) -> str:
    """The short tag of a system instance written into the references stamped on it."""
    return hashlib.blake2b(instance.encode(), digest_size=6).hexdigest()


def reference_for(global_id: str, instance: str | None = None) -> str:
    """The stable reference the engine stamps on a record it creates.

    With ``instance`` (what :meth:`Adapter.instance` of the written system says) the
    reference names that instance: ``crmerp:<global id>@<tag>``, so a record copied
    to another instance with its reference is never linked by that stamp there.
    Without it, the form written before instances were known: ``crmerp:<global id>``.
    """
    if instance is None:
        return f"{REFERENCE_PREFIX}{global_id}"
    return f"{REFERENCE_PREFIX}{global_id}{_INSTANCE_MARK}{instance_tag(instance)}"


def global_id_of(reference: str | None) -> str | None:
    """The global id inside a reference made by :func:`reference_for`, else ``None``."""
    if reference and reference.startswith(REFERENCE_PREFIX):
        return reference[len(REFERENCE_PREFIX) :].split(_INSTANCE_MARK, 1)[0] or None
    return None


def stamped_for(reference: str | None, instance: str) -> bool:
    """True when ``reference`` may have been stamped on ``instance``.

    A reference naming another instance is not; one in the older form names no
    instance and may be (the engine then trusts it only if its state knows the id).
    """
    if global_id_of(reference) is None:
        return False
    assert reference is not None
    _gid, mark, tag = reference.partition(_INSTANCE_MARK)
    return not mark or tag == instance_tag(instance)


def names_instance(reference: str | None) -> bool:
    """True when ``reference`` names the instance it was stamped for (not the old form)."""
    return global_id_of(reference) is not None and _INSTANCE_MARK in (reference or "")


@attrs.frozen
class Capabilities:
    """What a system can do, declared once by its adapter.

    ``change_feed`` false means the system cannot say what changed since a cursor:
    the engine reads it in full and diffs against the last snapshot it saw.

    ``conditional_writes`` true promises that the adapter honours
    :attr:`WriteOp.expected_version`: an update or delete of a record whose version
    is no longer that one is not applied and is answered :meth:`WriteResult.stale`.
    The promise covers every record the adapter reports a version for (records
    read with ``version=None`` are written unconditionally).
    Left false (the default, and what an adapter written before versions existed
    declares), the engine re-reads each record right before updating it instead,
    which narrows the window in which another user's edit can be overwritten but
    cannot close it (see the reliability guide).
    """

    readable: frozenset[str]
    writable: frozenset[str]
    reports_deletes: bool = False
    change_feed: bool = True
    upsert_by_reference: bool = True
    page_size: int = attrs.field(default=500, validator=attrs.validators.gt(0))
    max_batch: int = attrs.field(default=200, validator=attrs.validators.gt(0))
    conditional_writes: bool = False


@attrs.frozen
class NativeRecord:
    """One record as the system holds it.

    ``id`` is the system's id as a string, ``stamp`` its server-side modification
    time (timezone-aware) where it has one, ``deleted`` marks a reported delete,
    and ``reference`` is the reference the engine stamped on it (see
    :func:`reference_for`) when the engine created it.

    ``version`` is the record's version as read, opaque text the engine only
    compares and hands back in :attr:`WriteOp.expected_version`: a revision number,
    a change sequence, an ETag or a write stamp, whatever changes on every write of
    the record. ``None`` when the system has none.
    """

    id: str
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    stamp: datetime | None = None
    deleted: bool = False
    reference: str | None = None
    version: str | None = None


@attrs.frozen
class Page:
    """A page of changes and the cursor to read on from.

    ``cursor`` is opaque to the engine; it is stored only after every record of
    the page was applied, so a crash re-reads the page rather than skipping it.
    """

    records: Sequence[NativeRecord]
    cursor: str | None
    more: bool


class WriteKind(StrEnum):
    """What a write does."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@attrs.frozen
class WriteOp:
    """One record to write. Creates carry the ``reference`` to stamp on the record.

    Updates and deletes carry ``expected_version``: the :attr:`NativeRecord.version`
    of the record the engine based this write on (``None`` when the system reports
    no version, or the engine knows none). An adapter whose
    :attr:`Capabilities.conditional_writes` is true applies the write only if the
    record still has that version, and otherwise answers
    :meth:`WriteResult.stale` without changing anything; an adapter that declares
    no conditional writes may ignore it.
    """

    kind: WriteKind
    reference: str
    payload: Mapping[str, Any] | None = None
    native_id: str | None = None
    expected_version: str | None = None


class WriteStatus(StrEnum):
    """The outcome of one write."""

    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"
    STALE = "stale"


@attrs.frozen
class WriteResult:
    """The per-record answer to a write: done with the id, retry later, failed, or
    stale (refused because the record changed since the expected version)."""

    status: WriteStatus
    native_id: str | None = None
    reason: str = ""
    retry_after: float | None = None

    @classmethod
    def done(cls, native_id: str) -> WriteResult:
        """The record was written and has ``native_id``."""
        return cls(WriteStatus.DONE, native_id)

    @classmethod
    def retry(cls, reason: str, retry_after: float | None = None) -> WriteResult:
        """A transient failure: the same write may succeed later."""
        return cls(WriteStatus.RETRY, reason=reason, retry_after=retry_after)

    @classmethod
    def failed(cls, reason: str) -> WriteResult:
        """A permanent failure: the record will not be written as it is."""
        return cls(WriteStatus.FAILED, reason=reason)

    @classmethod
    def stale(cls, reason: str) -> WriteResult:
        """Refused, nothing written: the record changed since
        :attr:`WriteOp.expected_version`. The engine never sends the same write
        again blind: it re-reads the record and merges the change first."""
        return cls(WriteStatus.STALE, reason=reason)


def answer_for(error: RetryableError | DataError, context: str = "") -> WriteResult:
    """The answer to an op whose write raised ``error``, by what the error says to do.

    A rate limit answers retry with its ``retry_after``, any other retryable error
    retry, a data error (the record was refused) failed with its message.
    ``context`` prefixes the reason. Other errors (a bad token, a broken
    contract) are not answers: let them propagate.
    """
    from crmerp._errors import RateLimited, RetryableError

    reason = f"{context}{error}"
    if isinstance(error, RateLimited):
        return WriteResult.retry(reason, error.retry_after)
    if isinstance(error, RetryableError):
        return WriteResult.retry(reason)
    return WriteResult.failed(reason)


def check_answers(system: str, ops: Sequence[WriteOp], results: Sequence[WriteResult]) -> None:
    """Raise ``AdapterError`` unless there is exactly one sound result per op."""
    from crmerp._errors import AdapterError

    if len(results) != len(ops):
        raise AdapterError(f"{system} answered {len(results)} results for {len(ops)} writes")
    for op, result in zip(ops, results, strict=True):
        if result.status is WriteStatus.DONE and not result.native_id:
            raise AdapterError(f"{system} reported {op.kind} {op.reference} done without an id")
        if result.status is WriteStatus.STALE and op.expected_version is None:
            raise AdapterError(
                f"{system} answered {op.kind} {op.reference} stale, but it expected no version"
            )
