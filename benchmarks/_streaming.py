"""Two adapters that hold no records, so a benchmark measures the engine's memory.

The fakes keep every record in memory (a million customers in each is several
GiB of Python objects on their own); these two do not:

- ``GeneratedCRM`` makes customer ``n`` on demand from its number, in the fake
  CRM's native form, so a read of a million customers holds one page at a time;
- ``CountingERP`` answers every create with a new id and keeps only a count.

Both use the fakes' field mappings, so the engine does the same work per record
as with the fakes; only the systems' own storage is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from crmerp.adapters import (
    Adapter,
    Capabilities,
    EntityMapping,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
)
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter

__all__ = ["CountingERP", "GeneratedCRM"]


def customer_payload(n: int) -> dict[str, object]:
    """Customer ``n`` as the fake CRM holds it (the same fields ``seed`` writes)."""
    stamp = f"2024-01-01T00:00:00.{n % 1000:03d}+0000"
    return {
        "Id": f"001{n:015d}",
        "Active__c": "Yes",
        "IsPersonAccount": False,
        "Name": f"Customer {n:07d} GmbH",
        "Email__c": f"buyer{n}@customer{n}.example",
        "Phone": f"+4930{n:07d}",
        "CurrencyIsoCode": "EUR",
        "Payment_Terms__c": "net 30",
        "BillingAddress": {
            "street": f"Hauptstrasse {n % 200}",
            "city": "Berlin",
            "postalCode": f"{10000 + n % 9000}",
            "countryCode": "DE",
        },
        "IsDeleted": False,
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }


class GeneratedCRM(Adapter):
    """``count`` customers, made on demand; the change feed's cursor is a number."""

    system = "fake-crm"
    mappings: ClassVar[dict[str, EntityMapping]] = {"customer": FakeCRMAdapter.mappings["customer"]}

    def __init__(self, count: int, page_size: int = 1000) -> None:
        self.count = count
        self.page_size = page_size

    def capabilities(self) -> Capabilities:
        customers = frozenset({"customer"})
        return Capabilities(readable=customers, writable=customers, page_size=self.page_size)

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        start = int(cursor or 0)
        end = min(start + limit, self.count)
        records = [self._record(n) for n in range(start, end)]
        return Page(records, str(end), end < self.count)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        return [self._record(int(i[3:])) for i in ids if int(i[3:]) < self.count]

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        return {}

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return [WriteResult.failed("the generated CRM is read-only") for _ in ops]

    def _record(self, n: int) -> NativeRecord:
        payload = customer_payload(n)
        return NativeRecord(str(payload["Id"]), payload)


class CountingERP(Adapter):
    """Takes every create and forgets it: an ERP whose storage is not measured."""

    system = "fake-erp"
    mappings: ClassVar[dict[str, EntityMapping]] = {"customer": FakeERPAdapter.mappings["customer"]}

    def __init__(self) -> None:
        self.created = 0

    def capabilities(self) -> Capabilities:
        customers = frozenset({"customer"})
        return Capabilities(readable=customers, writable=customers, page_size=1000, max_batch=1000)

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        return Page([], cursor, False)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        return []

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        return {}

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = []
        for op in ops:
            if op.kind is WriteKind.CREATE:
                self.created += 1
                results.append(WriteResult.done(str(self.created)))
            else:
                results.append(WriteResult.failed("the counting ERP only creates"))
        return results
