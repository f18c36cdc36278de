"""The Tryton adapter: the ERP side of crmerp over Tryton's JSON-RPC.

Entities: customer (party.party), product (product.product), price_list
(product.price_list), order (sale.sale) and invoice (account.invoice, read
only). Quotes are not mapped: a Tryton quotation is the sale itself before it
is confirmed, so the same record would be a quote and then an order, and the
engine would see the quote vanish each time a sale is confirmed. See
``docs/systems/tryton.md`` for the field tables and the known limits.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from crmerp._errors import (
    ConfigError,
    DataError,
    RateLimited,
    TransientError,
    UsageError,
)
from crmerp.adapters._base import Adapter
from crmerp.adapters._mapping import EntityMapping
from crmerp.adapters._records import (
    Capabilities,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    answer_for,
)
from crmerp.adapters.tryton._cursor import (
    cap_position,
    decode_cursor,
    encode_cursor,
    read,
)
from crmerp.adapters.tryton._lookup import Lookups
from crmerp.adapters.tryton._mappings import MAPPINGS
from crmerp.adapters.tryton._read import Readers, marker_of
from crmerp.adapters.tryton._rpc import TrytonConcurrencyError, TrytonRPC, TrytonServerFault
from crmerp.adapters.tryton._write import (
    CustomerWriter,
    OrderWriter,
    PriceListWriter,
    ProductWriter,
    Writer,
)

__all__ = ["PASSWORD_ENV", "TrytonAdapter"]

PASSWORD_ENV: Final = "CRMERP_TRYTON_PASSWORD"
"""The environment variable the password is read from when none is given."""

_INACTIVE_TOO: Final = {"active_test": False}
_WRITABLE: Final = frozenset({"customer", "product", "price_list", "order"})


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TrytonAdapter(Adapter):
    """Tryton 8.x as the ERP side of a sync.

    >>> adapter = TrytonAdapter("https://erp.example", "prod", "crmerp")  # doctest: +SKIP

    ``password`` defaults to the environment variable ``password_env``
    (``CRMERP_TRYTON_PASSWORD``). ``settle_seconds`` holds the change feed back
    from the most recent stamps: Tryton stamps a row when its transaction starts,
    so a long transaction can commit rows older than ones already read; set it
    above your longest write transaction plus any clock difference between this
    host and the server (0 is only safe when nothing else writes meanwhile).
    ``product_defaults`` are extra ``product.template`` values for products the
    engine creates (e.g. ``{"account_category": 3}`` so they can be invoiced).
    ``customer_domain`` is a Tryton domain on ``party.party`` choosing which
    parties are customers (the company's own parties never are).
    ``rpc`` replaces the JSON-RPC client (for tests); ``clock`` the UTC clock.
    """

    system: ClassVar[str] = "tryton"
    mappings: ClassVar[Mapping[str, EntityMapping]] = MAPPINGS

    def __init__(
        self,
        url: str = "",
        database: str = "",
        username: str = "",
        password: str | None = None,
        *,
        password_env: str = PASSWORD_ENV,
        timeout: float = 30.0,
        settle_seconds: float = 60.0,
        page_size: int = 200,
        max_batch: int = 50,
        product_defaults: Mapping[str, Any] | None = None,
        customer_domain: Sequence[Any] = (),
        rpc: TrytonRPC | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if rpc is None:
            rpc = self._connect(url, database, username, password, password_env, timeout)
        if settle_seconds < 0:
            raise UsageError("settle_seconds must not be negative", code="tryton-settle")
        self.rpc = rpc
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._capabilities = Capabilities(
            readable=frozenset(MAPPINGS),
            writable=_WRITABLE,
            reports_deletes=False,
            change_feed=True,
            upsert_by_reference=True,
            page_size=page_size,
            max_batch=max_batch,
            conditional_writes=True,
        )
        self.lookups = Lookups(rpc)
        self.readers = Readers(rpc, self.lookups, customer_domain)
        self._writers: dict[str, Writer] = {
            "customer": CustomerWriter(rpc, self.lookups, self.readers),
            "product": ProductWriter(rpc, self.lookups, self.readers, product_defaults),
            "price_list": PriceListWriter(rpc, self.lookups, self.readers),
            "order": OrderWriter(rpc, self.lookups, self.readers),
        }

    @staticmethod
    def _connect(
        url: str,
        database: str,
        username: str,
        password: str | None,
        password_env: str,
        timeout: float,
    ) -> TrytonRPC:
        for name, value in (("url", url), ("database", database), ("username", username)):
            if not value:
                raise ConfigError(f"the Tryton adapter needs a {name}", key=name)
        if password is None:
            password = os.environ.get(password_env)
            if not password:
                raise ConfigError(
                    f"no Tryton password: pass password= or set ${password_env}",
                    key=password_env,
                )
        return TrytonRPC(url, database, username, password, timeout=timeout)

    def __repr__(self) -> str:
        return f"TrytonAdapter({self.rpc.url!r}, {self.rpc.database!r}, {self.rpc.username!r})"

    # --- the contract ----------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Customers, products, price lists and orders both ways; invoices read only."""
        return self._capabilities

    def _entity(self, entity: str) -> str:
        if entity not in MAPPINGS:
            raise UsageError(
                f"the Tryton adapter does not handle {entity!r}"
                + (
                    " (quotes are sales before confirmation in Tryton)" if entity == "quote" else ""
                ),
                code="adapter-no-mapping",
            )
        return entity

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        """Records of ``entity`` changed after ``cursor``, oldest change first.

        The cursor is the (stamp, id) of the last record returned; see ``_cursor``.
        """
        self._entity(entity)
        cap = cap_position(self._clock(), self.settle_seconds)
        page = read(
            self.rpc,
            self.readers.sources(entity),
            lambda ids: self.readers.load(entity, ids),
            decode_cursor(cursor),
            cap,
            limit,
        )
        return Page(
            page.records,
            encode_cursor(page.cursor) if page.cursor is not None else cursor,
            page.more,
        )

    def signpost(self, entity: str) -> str | None:
        """The cursor the feed stops at now: ``settle_seconds`` before this moment."""
        self._entity(entity)
        return encode_cursor(cap_position(self._clock(), self.settle_seconds))

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The current records with these ids, archived ones included."""
        self._entity(entity)
        numbers = sorted({int(i) for i in ids if str(i).isdigit()})
        loaded = self.readers.load(entity, numbers)
        return [loaded[n].record for n in numbers if n in loaded]

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """Records carrying these crmerp references (see docs/systems/tryton.md)."""
        self._entity(entity)
        wanted = sorted(set(references))
        if not wanted or entity == "invoice":
            return {}
        ids = self._ids_by_reference(entity, wanted)
        loaded = self.readers.load(entity, sorted(set(ids)))
        found: dict[str, NativeRecord] = {}
        for item in sorted(loaded.values(), key=lambda i: int(i.record.id)):
            reference = item.record.reference
            if reference in wanted and reference not in found:
                found[reference] = item.record
        return found

    def _ids_by_reference(self, entity: str, references: list[str]) -> list[int]:
        search = self.rpc.search_read
        if entity == "customer":
            rows = search(
                "party.identifier", [("code", "in", references)], ["party"], context=_INACTIVE_TOO
            )
            return [int(r["party"]) for r in rows]
        if entity == "product":
            rows = search("product.identifier", [("code", "in", references)], ["product"])
            return [int(r["product"]) for r in rows]
        if entity == "price_list":
            notes = search("ir.note", [("message", "in", references),
                                       ("resource", "like", "product.price_list,%")],
                           ["resource"])  # fmt: skip
            marked = self.rpc.search(
                "product.price_list",
                ["OR", *[[("name", "like", f"%{marker_of(r)}")] for r in references]],
                context=_INACTIVE_TOO,
            )
            return [int(str(n["resource"]).rpartition(",")[2]) for n in notes] + marked
        if entity == "order":
            return self.rpc.search(
                "sale.sale", [("reference", "in", references)], context=_INACTIVE_TOO
            )
        raise UsageError(f"no references on {entity}", code="adapter-no-mapping")

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply each op on its own; answer done, retry or failed per record.

        A create whose reference is already on a record updates that record.
        """
        self._entity(entity)
        writer = self._writers.get(entity)
        if writer is None:
            return [WriteResult.failed(f"{entity} is read-only on Tryton") for _ in ops]
        creates = [op.reference for op in ops if op.kind is WriteKind.CREATE]
        try:
            existing = self.find_by_reference(entity, creates) if creates else {}
        except (RateLimited, TransientError) as exc:
            return [answer_for(exc) for _ in ops]
        return [self._write_one(writer, op, existing) for op in ops]

    def _write_one(
        self, writer: Writer, op: WriteOp, existing: Mapping[str, NativeRecord]
    ) -> WriteResult:
        try:
            stale = self._stale(writer.entity, op)
            if stale is not None:
                return stale
            return WriteResult.done(str(self._apply(writer, op, existing)))
        except TrytonConcurrencyError as exc:
            if op.expected_version is not None:
                return WriteResult.stale(str(exc))
            return WriteResult.retry(str(exc))
        except (RateLimited, TransientError, DataError) as exc:
            return answer_for(exc)
        except TrytonServerFault as exc:
            return WriteResult.failed(str(exc))

    def _stale(self, entity: str, op: WriteOp) -> WriteResult | None:
        """The stale answer when the record's version (its newest stamp over all its
        rows) is no longer the one ``op`` expects; read right before the write."""
        if op.expected_version is None or op.kind is WriteKind.CREATE or not op.native_id:
            return None
        found = self.fetch(entity, [op.native_id])
        if not found or found[0].version == op.expected_version:
            return None  # gone: the write itself says so
        return WriteResult.stale(
            f"{entity} {op.native_id} changed at {found[0].version}, "
            f"after the version {op.expected_version} this write was based on"
        )

    def _apply(
        self, writer: Writer, op: WriteOp, existing: Mapping[str, NativeRecord]
    ) -> int | str:
        payload = op.payload or {}
        if op.kind is not WriteKind.DELETE:
            # Refuse what could not be read back as a valid record before writing any of it.
            self.to_canonical(writer.entity, NativeRecord(op.native_id or "new", payload))
        if op.kind is WriteKind.CREATE:
            found = existing.get(op.reference)
            if found is not None:
                return writer.update(int(found.id), payload, op.reference)
            return writer.create(payload, op.reference)
        if op.native_id is None or not str(op.native_id).isdigit():
            raise DataError(f"{op.kind} needs the Tryton id of the record, got {op.native_id!r}")
        if op.kind is WriteKind.UPDATE:
            return writer.update(int(op.native_id), payload)
        writer.delete(int(op.native_id))
        return op.native_id

    def instance(self) -> str:
        """The server and database: ``{url}/{database}`` (the JSON-RPC root)."""
        return f"{getattr(self.rpc, 'url', '')}/{getattr(self.rpc, 'database', '')}"

    def close(self) -> None:
        """Log out and close the HTTP connection."""
        self.rpc.close()
