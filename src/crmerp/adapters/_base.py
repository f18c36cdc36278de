"""The adapter contract: the few methods an integrator writes for one system.

Methods are grouped as in the Singer SDK:

* abstract (``@abstractmethod``): what an integrator must write; a missing one
  fails when the adapter is created, not half-way through a run;
* overridable: sensible defaults an adapter may replace;
* final (``@final``): what the engine relies on; do not override.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, final

from crmerp._errors import AdapterError, DataError, UsageError
from crmerp.adapters._mapping import EntityMapping
from crmerp.adapters._records import (
    Capabilities,
    NativeRecord,
    Page,
    WriteOp,
    WriteResult,
    check_answers,
)
from crmerp.models import CanonicalModel

__all__ = ["Adapter"]


class Adapter(ABC):
    """One CRM or ERP as the engine sees it.

    Subclass it, set ``system`` to a short name, give ``mappings`` (entity name
    -> :class:`EntityMapping`) and write the five abstract methods. The engine
    owns cursors, retries, merging and state; an adapter only reads and writes.
    """

    system: ClassVar[str] = ""
    """Short, stable name of the system (``"salesforce"``, ``"tryton"``)."""

    mappings: ClassVar[Mapping[str, EntityMapping]] = {}
    """Entity name -> the declarative map between native payload and model."""

    instance_name: str | None = None
    """A name for the instance given in the configuration (``instance = "..."`` in
    ``crmerp.toml``); when set, the engine takes it instead of :meth:`instance`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("read_changes", "to_canonical", "to_native", "write_checked", "mapping"):
            if name in cls.__dict__:
                raise UsageError(
                    f"{cls.__name__} overrides final method {name}()", code="adapter-final"
                )

    # --- abstract: what an integrator writes ------------------------------------

    @abstractmethod
    def capabilities(self) -> Capabilities:
        """Entities, directions, deletes, change feed or full read, page sizes."""

    @abstractmethod
    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        """Records of ``entity`` changed after ``cursor`` (``None``: from the start).

        Pages must neither skip nor repeat a record that changes while paging: order
        by a server-side change sequence (or stamp and id) and resume after the last
        one returned. Systems without a change feed return all records, in pages,
        with ``cursor`` being the position within that full read.
        """

    @abstractmethod
    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The current records with these ids; ids that do not exist are left out."""

    @abstractmethod
    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """Records carrying the references the engine stamped on creates."""

    @abstractmethod
    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply a batch; answer one :class:`WriteResult` per op, in order.

        Partial success is normal. A create whose reference already exists must
        update that record rather than create a second one when the system can
        upsert by reference.
        """

    # --- overridable -------------------------------------------------------------

    def signpost(self, entity: str) -> str | None:
        """A cursor for "now", taken at the start of a run; reads stop there.

        ``None`` (the default) means the adapter cannot say; the engine then reads
        until the system reports no more pages. An adapter that can cap a read
        returns a cursor here and accepts it as ``read_page(..., signpost=...)``,
        returning nothing changed after it; the engine passes it when the adapter's
        ``read_page`` takes that keyword.
        """
        return None

    def instance(self) -> str:
        """Which instance of the system this adapter speaks to: a server URL and
        database, a file, or a name given in the configuration.

        Global ids of records first seen here and the references stamped on records
        created here include it, so the same native id on another instance (another
        ERP database behind the same CRM) is another record, and a record copied
        from another instance with its reference is never linked by that stamp.
        Keep it stable: a changed instance makes new records' ids change. The
        default, the ``system`` name, says every system of this type is one
        instance; an adapter that can tell instances apart should say which.
        :attr:`instance_name`, when set, is used instead.
        """
        return self.system

    def close(self) -> None:  # noqa: B027 - optional hook with a do-nothing default
        """Release connections. Called once when the engine is done with the adapter."""

    # --- final: what the engine relies on -----------------------------------------

    @final
    def mapping(self, entity: str) -> EntityMapping:
        """The mapping of ``entity``; a clear error if the adapter has none."""
        try:
            return self.mappings[entity]
        except KeyError:
            raise UsageError(
                f"{self.system} adapter has no mapping for {entity!r}", code="adapter-no-mapping"
            ) from None

    @final
    def read_changes(self, entity: str, cursor: str | None) -> Iterator[Page]:
        """Every page after ``cursor``, until the system reports no more.

        A page that comes back with ``more`` but an unchanged cursor would loop
        forever; that is reported as an :class:`~crmerp.AdapterError`.
        """
        limit = self.capabilities().page_size
        while True:
            page = self.read_page(entity, cursor, limit=limit)
            yield page
            if not page.more:
                return
            if page.cursor == cursor:
                raise AdapterError(f"{self.system} {entity} read does not advance its cursor")
            cursor = page.cursor

    @final
    def to_canonical(self, entity: str, record: NativeRecord) -> CanonicalModel:
        """Validate a native record into its canonical model.

        Raises a :class:`~crmerp.DataError` carrying system, entity, native id and field.
        """
        try:
            return self.mapping(entity).to_canonical(
                record.payload, system=self.system, native_id=record.id
            )
        except DataError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
            raise DataError(
                f"cannot map record: {exc}", system=self.system, entity=entity, native_id=record.id
            ) from None

    @final
    def to_native(self, entity: str, record: CanonicalModel | Mapping[str, Any]) -> dict[str, Any]:
        """The native payload for a canonical record."""
        return self.mapping(entity).to_native(record)

    @final
    def write_checked(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """:meth:`write`, checked to answer exactly once per op."""
        if not ops:
            return []
        results = self.write(entity, ops)
        check_answers(self.system, ops, results)
        return results
