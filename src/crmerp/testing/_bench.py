"""What the conformance checks work with: an adapter and the records written through it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from crmerp.adapters import (
    ENTITIES,
    Adapter,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    WriteStatus,
    reference_for,
)
from crmerp.models import CanonicalModel, new_global_id
from crmerp.testing._retry import settle_writes, with_retries
from crmerp.testing._samples import PARENTS, SampleFactory

__all__ = [
    "MISSING_IDS",
    "BadPayloads",
    "Bench",
    "Written",
    "broken",
    "ids_in",
    "live_in",
    "require",
]

BadPayloads = Mapping[str, Sequence[Mapping[str, Any]]]
"""Entity name -> native payloads that are wrong for that entity."""

MISSING_IDS = ("999999999", "crmerp-no-such-id")
_PAGE = 3
_MAX_PAGES = 1000


def broken(promise: str, message: str) -> AssertionError:
    """The error a check raises: it names the promise first."""
    return AssertionError(f"{promise} promise broken: {message}")


def require(condition: object, promise: str, message: str) -> None:
    """Raise :func:`broken` unless ``condition`` holds (kept under ``python -O``)."""
    if not condition:
        raise broken(promise, message)


@attrs.define
class Written:
    """A record a check wrote: where it went and what was sent."""

    entity: str
    native_id: str
    reference: str
    record: CanonicalModel
    payload: dict[str, Any]


@attrs.define
class Bench:
    """An adapter and the records a check has written through it."""

    adapter: Adapter
    make: SampleFactory
    refs: dict[str, list[str]] = attrs.field(factory=dict)
    numbers: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))

    def entities(self) -> list[str]:
        """Entities the adapter both reads and writes, parents first."""
        caps = self.adapter.capabilities()
        return [e for e in ENTITIES if e in caps.readable and e in caps.writable]

    def sample(self, entity: str) -> tuple[CanonicalModel, dict[str, Any]]:
        """A new canonical sample of ``entity`` and its native payload."""
        self.ensure_parents(entity)
        record = self.make(entity, next(self.numbers), self.refs)
        return record, self.adapter.to_native(entity, record)

    def ensure_parents(self, entity: str) -> None:
        """Write two of each parent entity the adapter writes, once."""
        for parent in PARENTS.get(entity, ()):
            if parent in self.entities() and parent not in self.refs:
                self.create(parent, 2)

    def reference(self) -> str:
        """A fresh reference in the form the engine stamps on this adapter's instance."""
        return reference_for(new_global_id(), self.adapter.instance())

    def create(self, entity: str, count: int) -> list[Written]:
        """Write ``count`` new samples; every one must be answered done."""
        samples = [self.sample(entity) for _ in range(count)]
        ops = [WriteOp(WriteKind.CREATE, self.reference(), payload) for _, payload in samples]
        results = self.write(entity, ops)
        written = []
        for (record, payload), op, result in zip(samples, ops, results, strict=True):
            require(
                result.status is WriteStatus.DONE and result.native_id,
                "write-result",
                f"creating a valid {entity} answered {result.status} {result.reason!r}",
            )
            assert result.native_id is not None
            written.append(Written(entity, result.native_id, op.reference, record, payload))
        self.refs.setdefault(entity, []).extend(w.native_id for w in written)
        return written

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """The settled answers to ``ops``, one per op."""
        return settle_writes(self.adapter, entity, ops)

    def update(self, written: Written) -> dict[str, Any]:
        """Write a changed version of ``written``; returns the payload sent."""
        _, payload = self.sample(written.entity)
        op = WriteOp(WriteKind.UPDATE, written.reference, payload, written.native_id)
        (result,) = self.write(written.entity, [op])
        require(
            result.status is WriteStatus.DONE,
            "write-result",
            f"updating {written.entity} {written.native_id} answered {result.status} "
            f"{result.reason!r}",
        )
        return payload

    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, NativeRecord]:
        """Fetched records by id."""
        return {r.id: r for r in with_retries(self.adapter.fetch, entity, list(ids))}

    def read(
        self, entity: str, cursor: str | None, on_page: Callable[[int, Page], None] | None = None
    ) -> tuple[list[Page], str | None]:
        """Every page from ``cursor`` on, with the final cursor."""
        pages: list[Page] = []
        for number in range(1, _MAX_PAGES + 1):
            page = with_retries(self.adapter.read_page, entity, cursor, limit=_PAGE)
            pages.append(page)
            require(
                len(page.records) <= _PAGE,
                "cursor",
                f"{entity} page {number} holds {len(page.records)} records, limit was {_PAGE}",
            )
            if on_page is not None:
                on_page(number, page)
            if not page.more:
                return pages, page.cursor
            require(
                page.cursor != cursor,
                "cursor",
                f"{entity} page {number} says more but does not move the cursor",
            )
            cursor = page.cursor
        raise broken("cursor", f"reading {entity} did not end after {_MAX_PAGES} pages")

    def drain(self, entity: str) -> str | None:
        """The cursor after everything there is now."""
        return self.read(entity, None)[1]

    def next_cursor(self, cursor: str | None) -> str | None:
        """Where the next run starts: the cursor with a change feed, else the start."""
        return cursor if self.adapter.capabilities().change_feed else None


def ids_in(pages: Sequence[Page]) -> list[str]:
    """Ids of every record on ``pages``, repeats kept."""
    return [record.id for page in pages for record in page.records]


def live_in(pages: Sequence[Page]) -> dict[str, NativeRecord]:
    """The live (not deleted) records on ``pages`` by id; later pages win."""
    return {r.id: r for page in pages for r in page.records if not r.deleted}
