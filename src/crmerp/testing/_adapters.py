"""FakeCRMAdapter and FakeERPAdapter: the fakes seen through the adapter contract."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from crmerp._errors import TransientError, UsageError
from crmerp.adapters import (
    ENTITIES,
    Adapter,
    Capabilities,
    EntityMapping,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    WriteStatus,
    parse_datetime,
)
from crmerp.testing._crm import FakeCRM
from crmerp.testing._crm_mapping import CRM_MAPPINGS
from crmerp.testing._erp import FakeERP
from crmerp.testing._erp_mapping import ERP_MAPPINGS
from crmerp.testing._faults import FaultPlan, SimulatedCrash
from crmerp.testing._hostile import (
    batch_cut,
    dropped_mid_batch,
    normalised,
    note_written,
    refused_stale,
    shape_page,
    visible,
    visible_found,
)
from crmerp.testing._schema import WriteRefused
from crmerp.testing._system import FakeSystem, Snapshot

__all__ = ["FakeAdapter", "FakeCRMAdapter", "FakeERPAdapter"]

S = TypeVar("S", bound=FakeSystem[Any])


class FakeAdapter(Adapter, Generic[S]):
    """An adapter over a fake system, with optional fault injection.

    ``adapter.fake`` is the system (its store), ``adapter.faults`` the
    :class:`FaultPlan` in force (``None``: no faults); both may be replaced
    between runs. With a ``path`` the system loads from that JSON file and the
    adapter saves it after every write batch that changed something.

    ``read_page`` takes an optional ``signpost`` (from :meth:`signpost`): no
    record changed after it is returned.

    Each record's version is its change sequence number. With ``conditional``
    (the default) updates and deletes honour :attr:`~crmerp.adapters.WriteOp.expected_version`
    and answer stale when the record changed since; ``conditional=False`` makes the
    fake behave like a system that cannot refuse a stale write (the version is
    still reported, and ignored on writes).
    """

    def __init__(
        self,
        system: S | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        faults: FaultPlan | None = None,
        page_size: int = 500,
        conditional: bool = True,
    ) -> None:
        if system is not None and path is not None:
            raise UsageError("give a fake system or a path, not both", code="fake-adapter-args")
        self.fake: S = system if system is not None else self._open(path)
        self.faults = faults
        self.page_size = page_size
        self.conditional = conditional

    def _open(self, path: str | os.PathLike[str] | None) -> S:
        raise NotImplementedError

    # --- the contract ---------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Every entity both ways, a change feed, upserts by reference, conditional
        writes unless made with ``conditional=False``."""
        if self.faults is not None:
            self.faults.hook_call("capabilities", self.system)
        return Capabilities(
            readable=frozenset(ENTITIES),
            writable=frozenset(ENTITIES),
            reports_deletes=self.fake.keeps_tombstones,
            change_feed=True,
            upsert_by_reference=True,
            page_size=self.page_size,
            conditional_writes=self.conditional,
        )

    def read_page(
        self, entity: str, cursor: str | None, *, limit: int, signpost: str | None = None
    ) -> Page:
        """Records changed after ``cursor`` in change order, up to ``signpost`` if given."""
        table = self._table(entity)
        if limit < 1:
            raise UsageError(f"limit must be positive, got {limit}", code="fake-limit")
        self._begin("read")
        until = None if signpost is None else self._position(signpost)
        rows, more = self.fake.changes(
            table, after=self._position(cursor), limit=limit, until=until
        )
        page = Page(
            [self._native(row) for row in rows], str(rows[-1].sequence) if rows else cursor, more
        )
        self._crash_point("read.page")
        if self.faults is not None:
            self.faults.page_read(entity)
            page = shape_page(self.faults, entity, cursor, page)
        return page

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The live records with these ids; unknown and deleted ids are left out."""
        table = self._table(entity)
        self._begin("fetch")
        found = [self._native(row) for row in self.fake.lookup(table, [str(i) for i in ids])]
        return found if self.faults is None else visible(self.faults, entity, found)

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """Live records by the reference stamped on them."""
        table = self._table(entity)
        self._begin("find")
        found = self.fake.by_reference(table, references)
        records = {reference: self._native(row) for reference, row in found.items()}
        return records if self.faults is None else visible_found(self.faults, entity, records)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply each op; a create whose reference exists updates that record."""
        table = self._table(entity)
        self._begin("write")
        plan = self.faults
        cut = None if plan is None else batch_cut(plan, ops)
        results: list[WriteResult] = []
        for index, op in enumerate(ops[:cut]):
            results.append(self._injected_result() or self._attempt(entity, table, op))
            if index == 0:
                self._crash_point("write.after_first")
        if any(result.status is WriteStatus.DONE for result in results):
            self._persist()
        if plan is not None:
            note_written(plan, entity, ops, results)
        if cut is not None:
            raise dropped_mid_batch(self.system, cut, len(ops))
        self._crash_point("write.after_commit")
        if plan is not None and plan.answer_lost():
            raise TransientError(
                f"{self.system} write: connection lost before the answer "
                "(injected; the batch was applied)"
            )
        return results

    def signpost(self, entity: str) -> str | None:
        """The system's current change number."""
        self._table(entity)
        if self.faults is not None:
            self.faults.hook_call("signpost", self.system)
        return str(self.fake.sequence())

    def instance(self) -> str:
        """The fake system's instance: the name it was given, or its random id (kept
        in its file)."""
        return self.fake.instance

    def close(self) -> None:
        """Save the system when it is backed by a file."""
        self._persist()
        if self.faults is not None:
            self.faults.hook_call("close", self.system)

    # --- helpers --------------------------------------------------------------------

    def _table(self, entity: str) -> str:
        try:
            return self.fake.TABLES[entity]
        except KeyError:
            raise UsageError(
                f"{self.system} has no entity {entity!r}", code="fake-entity"
            ) from None

    def _position(self, cursor: str | None) -> int:
        if cursor is None:
            return 0
        if not cursor.isdigit():
            raise UsageError(f"{cursor!r} is not a {self.system} cursor", code="fake-cursor")
        return int(cursor)

    def _begin(self, operation: str) -> None:
        if self.faults is not None:
            self.faults.begin_call(operation, self.system, self.fake.clock)
        self._crash_point(f"{operation}.before")

    def _crash_point(self, point: str) -> None:
        if self.faults is not None and self.faults.crash_due(point):
            self._persist()
            raise SimulatedCrash(point)

    def _persist(self) -> None:
        if self.fake.path is not None:
            self.fake.save()

    def _native(self, row: Snapshot) -> NativeRecord:
        reference = row.payload.get(self.fake.REFERENCE_FIELD)
        return NativeRecord(
            id=row.id,
            payload=row.payload,
            stamp=parse_datetime(row.payload.get(self.fake.STAMP_FIELD)),
            deleted=row.deleted,
            reference=reference if isinstance(reference, str) else None,
            version=str(row.sequence),
        )

    def _injected_result(self) -> WriteResult | None:
        outcome = None if self.faults is None else self.faults.record_failure()
        if outcome == "retry":
            return WriteResult.retry(
                "record locked by another user (injected)",
                retry_after=self.faults.retry_after if self.faults else None,
            )
        if outcome == "failed":
            return WriteResult.failed("rejected by a validation rule (injected)")
        return None

    def _attempt(self, entity: str, table: str, op: WriteOp) -> WriteResult:
        if self.faults is None:
            return self._apply(entity, table, op)
        refused = refused_stale(self.faults, op)
        return refused or self._apply(entity, table, normalised(self.faults, op))

    def _apply(self, entity: str, table: str, op: WriteOp) -> WriteResult:
        try:
            if op.kind is WriteKind.DELETE:
                return self._delete(entity, table, op)
            if not isinstance(op.payload, Mapping):
                return WriteResult.failed(f"{op.kind} of {entity} needs a payload")
            payload = {
                k: v
                for k, v in op.payload.items()
                if k not in self.fake.SYSTEM_FIELDS and k != self.fake.REFERENCE_FIELD
            }
            if op.kind is WriteKind.CREATE:
                return self._create(table, op.reference, payload)
            return self._update(entity, table, op, payload)
        except WriteRefused as exc:
            return WriteResult.failed(str(exc))

    def _create(self, table: str, reference: str, payload: dict[str, Any]) -> WriteResult:
        existing = self.fake.by_reference(table, [reference]).get(reference)
        if existing is not None:
            self._update_row(table, existing.id, payload, reference)
            return WriteResult.done(existing.id)
        values = {
            **self.fake.SCHEMAS[table].defaults,
            **payload,
            self.fake.REFERENCE_FIELD: reference,
        }
        return WriteResult.done(self.fake.apply_create(table, values))

    def _update(self, entity: str, table: str, op: WriteOp, payload: dict[str, Any]) -> WriteResult:
        key = op.native_id
        if key is None or not self.fake.is_live(table, key):
            return WriteResult.failed(f"{entity} {key!r} not found")
        stale = self._stale(entity, table, key, op)
        if stale is not None:
            return stale
        self._update_row(table, key, payload, op.reference)
        return WriteResult.done(key)

    def _stale(self, entity: str, table: str, key: str, op: WriteOp) -> WriteResult | None:
        """The stale answer when ``op`` expects a version the row no longer has."""
        if not self.conditional or op.expected_version is None:
            return None
        found = self.fake.lookup(table, [key])
        version = str(found[0].sequence) if found else None
        if version == op.expected_version:
            return None
        return WriteResult.stale(
            f"{entity} {key} is at version {version}, not {op.expected_version}"
        )

    def _update_row(self, table: str, key: str, payload: dict[str, Any], reference: str) -> None:
        current = self.fake.lookup(table, [key])[0].payload
        values = self._merge(table, current, payload)
        if not current.get(self.fake.REFERENCE_FIELD):
            values[self.fake.REFERENCE_FIELD] = reference
        self.fake.apply_update(table, key, values)

    def _merge(
        self, table: str, current: Mapping[str, Any], payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The fields to update; systems override this to keep what the payload cannot say."""
        return payload

    def _delete(self, entity: str, table: str, op: WriteOp) -> WriteResult:
        key = op.native_id
        if key is None:
            return WriteResult.failed(f"delete of {entity} needs a native id")
        stale = self._stale(entity, table, key, op) if self.fake.is_live(table, key) else None
        if stale is not None:
            return stale
        if self.fake.apply_delete(table, key) or self.fake.existed(table, key):
            return WriteResult.done(key)
        return WriteResult.failed(f"{entity} {key!r} not found")


class FakeCRMAdapter(FakeAdapter[FakeCRM]):
    """The adapter of :class:`FakeCRM`; reports deletes (tombstones)."""

    system = "fake-crm"
    mappings: ClassVar[Mapping[str, EntityMapping]] = CRM_MAPPINGS

    def _open(self, path: str | os.PathLike[str] | None) -> FakeCRM:
        return FakeCRM(path)

    @property
    def crm(self) -> FakeCRM:
        """The fake CRM this adapter speaks to."""
        return self.fake


_MAPPED_MECHANISMS = frozenset({"email", "phone", "mobile"})


class FakeERPAdapter(FakeAdapter[FakeERP]):
    """The adapter of :class:`FakeERP`; reports deletes only if the ERP keeps them."""

    system = "fake-erp"
    mappings: ClassVar[Mapping[str, EntityMapping]] = ERP_MAPPINGS

    def __init__(
        self,
        system: FakeERP | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        faults: FaultPlan | None = None,
        page_size: int = 500,
        reports_deletes: bool = False,
        conditional: bool = True,
    ) -> None:
        self._reports_deletes = reports_deletes
        super().__init__(
            system, path=path, faults=faults, page_size=page_size, conditional=conditional
        )

    def _open(self, path: str | os.PathLike[str] | None) -> FakeERP:
        return FakeERP(path, reports_deletes=self._reports_deletes)

    @property
    def erp(self) -> FakeERP:
        """The fake ERP this adapter speaks to."""
        return self.fake

    def _merge(
        self, table: str, current: Mapping[str, Any], payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Keep a party's fax numbers and websites, which no canonical field holds."""
        if table != "party.party" or "contact_mechanisms" not in payload:
            return payload
        kept = [
            m
            for m in current.get("contact_mechanisms") or ()
            if isinstance(m, Mapping) and m.get("type") not in _MAPPED_MECHANISMS
        ]
        return {**payload, "contact_mechanisms": [*(payload["contact_mechanisms"] or ()), *kept]}
