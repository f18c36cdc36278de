"""A new adapter in under 100 lines: a dict-backed address book with a change counter."""

from collections.abc import Sequence
from typing import Any

from crmerp.adapters import (
    Adapter,
    Capabilities,
    EntityMapping,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    as_list,
    field,
    first_or_none,
    value_map,
)
from crmerp.models import Customer


class AddressBook:
    """The toy system: rows by id, each stamped with the change counter at its last write."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.counter = 0

    def put(self, key: str, values: dict[str, Any], *, deleted: bool = False) -> None:
        self.counter += 1
        self.rows[key] = {**values, "id": key, "change": self.counter, "deleted": deleted}


CUSTOMER = EntityMapping(
    Customer,
    [
        field("name", "full_name"),
        field("emails", "email", to_canonical=as_list, to_native=first_or_none),
        value_map("active", "status", {"active": True, "archived": False}, default="active"),
    ],
    omits=set(Customer.model_fields) - {"id", "updated_at", "name", "emails", "active"},
    ignore={"id", "ref", "change", "deleted"},
)


class ToyAdapter(Adapter):
    """Customers only, a change feed by counter, deletes kept as tombstones."""

    system = "toy"
    mappings = {"customer": CUSTOMER}

    def __init__(self, book: AddressBook | None = None) -> None:
        self.book = book or AddressBook()

    def capabilities(self) -> Capabilities:
        entities = frozenset({"customer"})
        return Capabilities(readable=entities, writable=entities, reports_deletes=True)

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        changes = sorted(self.book.rows.values(), key=lambda r: r["change"])
        rows = [r for r in changes if r["change"] > int(cursor or 0)]
        page = rows[:limit]
        cursor = str(page[-1]["change"]) if page else cursor
        return Page([self._record(r) for r in page], cursor, more=len(rows) > limit)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        return [self._record(r) for i in ids if (r := self.book.rows.get(i)) and not r["deleted"]]

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        live = [r for r in self.book.rows.values() if not r["deleted"]]
        return {r["ref"]: self._record(r) for r in live if r.get("ref") in references}

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return [self._write_one(op) for op in ops]

    def _write_one(self, op: WriteOp) -> WriteResult:
        row = self.book.rows.get(op.native_id or "")
        if op.kind is WriteKind.DELETE:
            if row is None:
                return WriteResult.failed(f"no customer {op.native_id!r}")
            if not row["deleted"]:
                self.book.put(row["id"], row, deleted=True)
            return WriteResult.done(row["id"])
        values = dict(op.payload or {})
        if not values.get("full_name") or not isinstance(values["full_name"], str):
            return WriteResult.failed("full_name is required")
        if op.kind is WriteKind.CREATE:
            row = self.find_by_reference("customer", [op.reference]).get(op.reference)
            key = row.id if row else str(len(self.book.rows) + 1)
            self.book.put(key, {**values, "ref": op.reference})
            return WriteResult.done(key)
        if row is None or row["deleted"]:
            return WriteResult.failed(f"no customer {op.native_id!r}")
        self.book.put(row["id"], {**row, **values})
        return WriteResult.done(row["id"])

    def _record(self, row: dict[str, Any]) -> NativeRecord:
        return NativeRecord(row["id"], dict(row), deleted=row["deleted"], reference=row.get("ref"))
