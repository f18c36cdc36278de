"""The BottleCRM adapter: the CRM side of a sync, over BottleCRM's REST API."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import ClassVar

from crmerp._errors import DataError, RetryableError, UsageError
from crmerp.adapters import (
    Adapter,
    Capabilities,
    EntityMapping,
    NativeRecord,
    Page,
    WriteOp,
    WriteResult,
    answer_for,
)
from crmerp.adapters.bottlecrm._client import BottleCRMClient
from crmerp.adapters.bottlecrm._errors import BottleCRMAuthError, BottleCRMServerError
from crmerp.adapters.bottlecrm._mappings import ACCEPTED_CURRENCIES, MAPPINGS
from crmerp.adapters.bottlecrm._reads import (
    REFERENCE_KEY,
    ReferenceIndex,
    Snapshot,
    SnapshotReader,
)
from crmerp.adapters.bottlecrm._writes import Writers

__all__ = ["BottleCRMAdapter"]

_READABLE = frozenset({"customer", "product", "quote"})
_WRITABLE = frozenset({"customer", "product", "price_list", "quote", "invoice"})
_REFERENCE_TARGETS = {"customer": "Account", "quote": "Opportunity", "invoice": "Invoice"}


class BottleCRMAdapter(Adapter):
    """BottleCRM (PyPI ``django-crm``, checked against 1.35.0) as the CRM of a sync.

    >>> crm = BottleCRMAdapter("https://crm.example.com")   # doctest: +SKIP
    >>> crm = BottleCRMAdapter()  # BOTTLECRM_URL and BOTTLECRM_TOKEN  # doctest: +SKIP

    Entities: ``customer`` (an account with its address, email, phone and its
    contacts as contact persons), ``product``, ``price_list`` (written into the
    products' prices, never read), ``quote`` (an opportunity with line items; its
    stage gives the status, a won deal is an accepted quote) and ``invoice``
    (written from the ERP with lines, status and totals, never read). BottleCRM
    has no orders, so ``order`` is not supported.

    BottleCRM has no change feed: every read is a full read, which the engine
    diffs against its last snapshot. Records the engine creates carry its
    reference in the custom field ``crmerp_ref``, which the adapter defines on
    accounts, opportunities and invoices when it starts (that needs an ADMIN
    token once). Products have no custom fields: their reference goes in
    ``category``, and a product create whose SKU exists updates that product.

    ``base_url`` and ``token`` default to the environment variables named by
    ``url_env`` and ``token_env``. ``default_currency`` is read for deals that
    have none. ``price_list`` names the one ERP price list whose prices go into
    the products (default: every list written, so give it when there are several).
    ``client`` replaces the HTTP client (tests).
    """

    system: ClassVar[str] = "bottlecrm"
    mappings: ClassVar[Mapping[str, EntityMapping]] = MAPPINGS

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        default_currency: str | None = None,
        price_list: str | None = None,
        page_size: int = 500,
        max_batch: int = 50,
        timeout: float = 30.0,
        url_env: str = "BOTTLECRM_URL",
        token_env: str = "BOTTLECRM_TOKEN",
        client: BottleCRMClient | None = None,
    ) -> None:
        if default_currency is not None and default_currency not in ACCEPTED_CURRENCIES:
            raise UsageError(
                f"default_currency {default_currency!r} is not one BottleCRM accepts",
                code="bottlecrm-currency",
            )
        self.client = client or BottleCRMClient(
            _setting(base_url, url_env, "base URL"),
            _setting(token, token_env, "token"),
            timeout=timeout,
            page_size=page_size,
        )
        self._capabilities = Capabilities(
            readable=_READABLE,
            writable=_WRITABLE,
            reports_deletes=False,
            change_feed=False,
            upsert_by_reference=True,
            page_size=page_size,
            max_batch=max_batch,
        )
        self._index = ReferenceIndex()
        self._reader = SnapshotReader(self.client, self._index, default_currency)
        self._writers = Writers(self.client, self._reader, self._index, price_list)
        self._snapshots: dict[str, Snapshot] = {}
        self._ensure_reference_fields()

    def _ensure_reference_fields(self) -> None:
        """Define the ``crmerp_ref`` custom field where it is missing.

        BottleCRM silently drops custom-field values that have no definition, so
        without this a create would lose its reference without an error.
        """
        defined = {
            (d.get("target_model"), d.get("key")): d for d in self.client.list_custom_fields()
        }
        for target in _REFERENCE_TARGETS.values():
            found = defined.get((target, REFERENCE_KEY))
            if found is not None and not found.get("is_active", True):
                raise UsageError(
                    f"the BottleCRM custom field {REFERENCE_KEY!r} on {target} is "
                    "inactive; reactivate it",
                    code="bottlecrm-reference-field",
                )
            if found is not None:
                continue
            try:
                self.client.create_custom_field(target, REFERENCE_KEY, "crmerp reference")
            except BottleCRMAuthError:
                raise UsageError(
                    f"the BottleCRM custom field {REFERENCE_KEY!r} on {target} is missing and "
                    "this token may not create it; run once with an ADMIN token",
                    code="bottlecrm-reference-field",
                ) from None

    # --- the contract --------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Full reads of customers, products and quotes; writes of those, price lists
        and invoices; upsert by reference; no change feed and no reported deletes."""
        return self._capabilities

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        """One page of a full read, from a snapshot taken at its first page.

        The cursor is ``<snapshot>:<last id>``; a cursor whose snapshot this
        adapter no longer holds (a new process) re-reads and goes on after the id.
        The last page answers the cursor ``None``: a full read always starts over.
        """
        self._check(entity, self._reads)
        token, after = _parse(cursor)
        snapshot = self._snapshots.get(entity)
        if cursor is None or snapshot is None or snapshot.token != token:
            snapshot = self._snapshots[entity] = self._reader.snapshot(entity)
        records, more = snapshot.page(after, limit)
        if not more:
            # The read is complete: the next one starts from the beginning again.
            del self._snapshots[entity]
            return Page(records, None, False)
        return Page(records, f"{snapshot.token}:{records[-1].id}", True)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The current records with these ids, one detail read each."""
        self._check(entity, self._fetchable)
        return self._reader.fetch(entity, ids)

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """Records carrying these references, found by reading the list and matching
        locally (the ``cf_`` list filter fails on SQLite-backed servers).

        A product keeps its reference in ``category``; price lists hold none.
        """
        self._check(entity, self._writable)
        if entity == "price_list" or not references:
            return {}
        self._reader.refresh_index(entity)
        ids = {
            ref: found for ref in references if (found := self._index.get(entity, ref)) is not None
        }
        records = {r.id: r for r in self._reader.fetch(entity, list(ids.values()))}
        return {ref: records[i] for ref, i in ids.items() if i in records}

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Write each op and answer for each: done, retry or failed.

        A record the adapter or BottleCRM refuses fails alone; a rate limit or an
        unreachable server answers "retry" for that op and every later one
        without sending them. A bad token stops the batch with the error.
        """
        self._check(entity, self._writable)
        results: list[WriteResult] = []
        stop: WriteResult | None = None
        for op in ops:
            if stop is not None:
                results.append(stop)
                continue
            try:
                results.append(self._writers.write(entity, op))
            except RetryableError as exc:
                stop = answer_for(exc, "not sent: ")
                results.append(stop)
            except (DataError, BottleCRMServerError) as exc:
                results.append(WriteResult.failed(f"{op.kind} {entity}: {exc}"))
        return results

    def instance(self) -> str:
        """The server's base URL, and the org when one was given (``{url}#org={org}``).

        A token carries its org; without ``org=`` two orgs of one server look alike
        here: name the instance in the configuration then.
        """
        base = str(getattr(self.client, "base_url", ""))
        org = getattr(self.client, "org", None)
        return f"{base}#org={org}" if org else base

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # --- helpers --------------------------------------------------------------------

    _reads = _READABLE
    _fetchable = _READABLE | {"invoice"}
    _writable = _WRITABLE

    def _check(self, entity: str, allowed: frozenset[str]) -> None:
        if entity not in allowed:
            raise UsageError(
                f"the bottlecrm adapter cannot do that for {entity!r} "
                f"(only {', '.join(sorted(allowed))})",
                code="bottlecrm-entity",
            )


def _setting(value: str | None, variable: str, what: str) -> str:
    found = value or os.environ.get(variable)
    if not found:
        raise UsageError(
            f"no BottleCRM {what}: pass it or set ${variable}", code="bottlecrm-config"
        )
    return found


def _parse(cursor: str | None) -> tuple[str | None, str | None]:
    if not cursor:
        return None, None
    token, _, last = cursor.partition(":")
    return token, last or None
