"""A small typed REST client for BottleCRM (PyPI ``django-crm``, checked against 1.35.0).

Scope: accounts, contacts, opportunities (deals) with their line items, products
and invoices, plus the custom-field definitions an adapter needs to stamp its own
external reference on records. Everything is plain JSON over ``/api/``.

Authentication is a personal access token (``bcrm_pat_...``) sent as
``Authorization: Bearer <token>``. The token carries its org, so no ``org``
header is needed; ``org=`` is accepted and sent as an ``org`` header only for
deployments that front the API with something that wants it.

The endpoints do not agree on shapes, and this client hides that:

* **lists** page with ``limit``/``offset`` but answer in four shapes: accounts
  split into ``active_accounts.open_accounts`` and
  ``closed_accounts.close_accounts`` (both halves paged by the same
  ``limit``/``offset``); contacts in ``results`` with ``count``; opportunities in
  ``opportunities`` with ``opportunities_count``; products and invoices in DRF's
  ``count``/``next``/``previous``/``results``. ``iter_*`` walks all pages,
  ``list_*`` returns one page as :class:`Page`.
* **detail** reads wrap the record: ``account_obj``, ``contact_obj``,
  ``opportunity_obj``, ``invoice``; a product comes bare.
* **writes** to accounts, contacts and opportunities answer only
  ``{"error": false, "message": ..., "id": ...}``, so ``create_*`` and
  ``update_*`` read the record back (one extra GET); products and invoices
  return the record in the write response.
* **updates** use ``PATCH`` (accounts, contacts, opportunities: only the keys
  sent change; ``PUT`` there would also reset omitted relations) or a partial
  ``PUT`` (products, invoices, line items).
* **deletes** are hard deletes (``DELETE`` answers 200 with a message). Invoices
  cannot be deleted through the API at all (405); :meth:`BottleCRMClient.cancel_invoice`
  is the closest thing.

Errors are raised as :class:`BottleCRMError` subclasses carrying the method,
URL, status code and decoded body; each is also a member of crmerp's error tree
(drawn in ``_errors.py``), so a transport failure is a
:class:`~crmerp.TransientError` and a 400 a :class:`~crmerp.DataError`. There is
no throttling on the authenticated endpoints in 1.35.0, but a 429 (a proxy, or a
future release) raises :class:`BottleCRMRateLimited`, a :class:`~crmerp.RateLimited`
with ``retry_after`` in seconds.

JSON numbers are decoded as :class:`~decimal.Decimal`, never ``float``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import httpx

from crmerp._errors import UsageError
from crmerp.adapters.bottlecrm._errors import BottleCRMProtocolError
from crmerp.adapters.bottlecrm._json import (
    as_int,
    as_list,
    as_object,
    counted_list,
)
from crmerp.adapters.bottlecrm._records import (
    AccountRecord,
    ContactRecord,
    CustomFieldDefinition,
    InvoiceLineItemRecord,
    InvoiceRecord,
    JSONObject,
    OpportunityLineItemRecord,
    OpportunityRecord,
    Page,
    ProductRecord,
)
from crmerp.adapters.http import HTTPService

__all__ = ["DEFAULT_PAGE_SIZE", "DEFAULT_TIMEOUT", "BottleCRMClient"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 100

#: What a list endpoint is filtered by: passed through as query parameters.
Params = Mapping[str, str | int]

_RecordT = TypeVar("_RecordT")


class BottleCRMClient:
    """Synchronous client for one BottleCRM org, authenticated by a personal access token.

    Use as a context manager, or call :meth:`close`. ``client`` is the
    :class:`httpx.Client` to send with (its base URL and authentication headers
    are set here); without one a client is made, with ``transport`` if given
    (tests use :class:`httpx.MockTransport`). Requests go through the shared
    :class:`~crmerp.adapters.http.HTTPService`, which maps every failure.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        org: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        page_size: int = DEFAULT_PAGE_SIZE,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not (token.isascii() and token.isprintable()):
            # httpx would raise UnicodeEncodeError with the whole header, token
            # included, in its arguments: say what is wrong without showing it.
            raise UsageError(
                "the BottleCRM token holds characters a token cannot have (only printable "
                "ASCII); copy it again from BottleCRM's settings",
                code="bottlecrm-token",
            )
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": "crmerp-bottlecrm",
        }
        if org is not None:
            headers["org"] = org
        self.base_url = base_url.rstrip("/")
        self.org = org
        self.page_size = page_size
        http = client or httpx.Client(timeout=timeout, transport=transport)
        http.base_url = httpx.URL(self.base_url)
        http.headers.update(headers)
        self._service = HTTPService(http, system="bottlecrm")

    # -- lifecycle

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._service.close()

    def __enter__(self) -> BottleCRMClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body (``None`` if empty).

        Raises a :class:`BottleCRMHTTPError` subclass for any non-2xx answer,
        :class:`BottleCRMTransportError` when no answer came, and
        :class:`BottleCRMProtocolError` for a 2xx that is not JSON.
        """
        return self._service.call(method, path, params=params, json_body=json_body)

    # -- the shapes of the answers, checked

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _get_object(self, path: str, *, params: Params | None = None) -> JSONObject:
        body = self.request("GET", path, params=params)
        return as_object(body, what="the body", method="GET", url=self._url(path))

    def _get_list(self, path: str, key: str, *, params: Params | None = None) -> list[JSONObject]:
        """The list under ``key`` of a GET answer."""
        body = self._get_object(path, params=params)
        return as_list(body.get(key), what=f"'{key}'", method="GET", url=self._url(path))

    def _member(self, body: Any, key: str, *, method: str, path: str) -> JSONObject:
        url = self._url(path)
        outer = as_object(body, what="the body", method=method, url=url)
        return as_object(outer.get(key), what=f"'{key}'", method=method, url=url)

    def _get_member(self, path: str, key: str) -> JSONObject:
        """The record a detail read wraps under ``key``."""
        return self._member(self._get_object(path), key, method="GET", path=path)

    def _send_member(
        self, method: str, path: str, key: str, data: Mapping[str, Any] | None = None
    ) -> JSONObject:
        """Send a write and return the record its answer wraps under ``key``."""
        body = self.request(method, path, json_body=data)
        return self._member(body, key, method=method, path=path)

    def _created_id(self, body: Any, *, path: str) -> str:
        url = self._url(path)
        outer = as_object(body, what="the body", method="POST", url=url)
        new_id = outer.get("id")
        if not isinstance(new_id, str):
            raise BottleCRMProtocolError(
                f"POST {url}: the answer carries no 'id'", method="POST", url=url, body=body
            )
        return new_id

    # -- writes answered by an id only: read the record back

    def _create_then_read(
        self, path: str, data: Mapping[str, Any], read: Callable[[str], _RecordT]
    ) -> _RecordT:
        new_id = self._created_id(self.request("POST", path, json_body=data), path=path)
        return read(new_id)

    def _patch_then_read(
        self,
        path: str,
        record_id: str,
        data: Mapping[str, Any],
        read: Callable[[str], _RecordT],
    ) -> _RecordT:
        self.request("PATCH", path, json_body=data)
        return read(record_id)

    # -- paging

    def _page_query(
        self, offset: int, limit: int | None, params: Params | None
    ) -> tuple[int, dict[str, str | int]]:
        """The page size and the query for one page."""
        size = limit or self.page_size
        query: dict[str, str | int] = dict(params or {})
        query.update({"limit": size, "offset": offset})
        return size, query

    def _page(
        self,
        path: str,
        items_key: str,
        count_key: str,
        *,
        offset: int,
        limit: int | None,
        params: Params | None,
    ) -> Page[JSONObject]:
        size, query = self._page_query(offset, limit, params)
        body = self._get_object(path, params=query)
        url = self._url(path)
        items = as_list(body.get(items_key), what=f"'{items_key}'", method="GET", url=url)
        total = as_int(body.get(count_key), what=f"'{count_key}'", method="GET", url=url)
        return Page(items=items, total=total, offset=offset, limit=size)

    def _iterate(
        self,
        fetch: Callable[..., Page[Any]],
        *,
        params: Params | None,
    ) -> Iterator[JSONObject]:
        offset = 0
        while True:
            page = fetch(offset=offset, limit=self.page_size, params=params)
            yield from page.items
            if not page.items or not page.has_more:
                return
            offset += page.limit

    # ================================================================ accounts

    def list_accounts(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Page[AccountRecord]:
        """One page of accounts, active ones first, then inactive ones.

        The endpoint pages the active and the inactive half with the same
        ``limit``/``offset``, so one page holds up to ``2 * limit`` records.
        ``params`` are passed through: ``name``, ``city``, ``industry``,
        ``search`` (name), ``is_active=true|false``, ``tags``, ``assigned_to``,
        ``created_at__gte``/``__lte`` (dates, by day), ``cf_<key>`` (custom
        field value; PostgreSQL only, a 500 on SQLite).
        """
        size, query = self._page_query(offset, limit, params)
        path = "/api/accounts/"
        body = self._get_object(path, params=query)
        url = self._url(path)
        active = as_object(
            body.get("active_accounts"), what="'active_accounts'", method="GET", url=url
        )
        closed = as_object(
            body.get("closed_accounts"), what="'closed_accounts'", method="GET", url=url
        )
        open_items, open_total = counted_list(active, "open_accounts", url=url)
        closed_items, closed_total = counted_list(closed, "close_accounts", url=url)
        return Page(
            items=cast(list[AccountRecord], open_items + closed_items),
            total=max(open_total, closed_total),
            offset=offset,
            limit=size,
        )

    def iter_accounts(
        self, params: Mapping[str, str | int] | None = None
    ) -> Iterator[AccountRecord]:
        """Every account (active and inactive) matching ``params``, page by page.

        The list is ordered by id (a random UUID), so records created while
        paging can shift later pages; read to the end and reconcile by id.
        """
        return cast(Iterator[AccountRecord], self._iterate(self.list_accounts, params=params))

    def get_account(self, account_id: str) -> AccountRecord:
        """One account (``account_obj`` of the detail answer), with its related lists."""
        return cast(AccountRecord, self._get_member(f"/api/accounts/{account_id}/", "account_obj"))

    def create_account(self, data: Mapping[str, Any]) -> AccountRecord:
        """Create an account and return it as read back.

        ``name`` is required and unique per org, ignoring case. Other writable
        keys: email, phone, website, industry, number_of_employees,
        annual_revenue, currency, address_line, city, state, postcode, country,
        description, is_active, and id lists contacts, tags, teams, assigned_to;
        ``custom_fields`` (only keys with a definition are kept).
        """
        return self._create_then_read("/api/accounts/", data, self.get_account)

    def update_account(self, account_id: str, data: Mapping[str, Any]) -> AccountRecord:
        """Change the given keys of an account (``PATCH``) and return it as read back."""
        path = f"/api/accounts/{account_id}/"
        return self._patch_then_read(path, account_id, data, self.get_account)

    def delete_account(self, account_id: str) -> None:
        """Delete an account for good. Its deals go with it (cascade); contacts stay.

        Raises :class:`BottleCRMConflict` while invoices, estimates, recurring
        invoices or projects still point at it.
        """
        self.request("DELETE", f"/api/accounts/{account_id}/")

    # ================================================================ contacts

    def list_contacts(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Page[ContactRecord]:
        """One page of contacts, newest first.

        ``params``: ``name``, ``city``, ``phone``, ``email`` (substring),
        ``search`` (name, email, phone), ``is_active``, ``tags``,
        ``assigned_to``, ``created_at__gte``/``__lte``, ``cf_<key>``.
        """
        page = self._page(
            "/api/contacts/", "results", "count", offset=offset, limit=limit, params=params
        )
        return cast(Page[ContactRecord], page)

    def iter_contacts(
        self, params: Mapping[str, str | int] | None = None
    ) -> Iterator[ContactRecord]:
        """Every contact matching ``params``, page by page."""
        return cast(Iterator[ContactRecord], self._iterate(self.list_contacts, params=params))

    def get_contact(self, contact_id: str) -> ContactRecord:
        """One contact (``contact_obj`` of the detail answer)."""
        return cast(ContactRecord, self._get_member(f"/api/contacts/{contact_id}/", "contact_obj"))

    def create_contact(self, data: Mapping[str, Any]) -> ContactRecord:
        """Create a contact and return it as read back.

        ``first_name`` and ``last_name`` are required; ``email`` is unique per
        org ignoring case. ``account`` (id) sets the primary account and also
        links the contact to it. ``source`` must be one of the org's lead
        sources; ``source_ref`` is free text (255).
        """
        return self._create_then_read("/api/contacts/", data, self.get_contact)

    def update_contact(self, contact_id: str, data: Mapping[str, Any]) -> ContactRecord:
        """Change the given keys of a contact (``PATCH``) and return it as read back."""
        path = f"/api/contacts/{contact_id}/"
        return self._patch_then_read(path, contact_id, data, self.get_contact)

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact for good."""
        self.request("DELETE", f"/api/contacts/{contact_id}/")

    # =========================================================== opportunities

    def list_opportunities(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Page[OpportunityRecord]:
        """One page of deals (ordered by id).

        ``params``: ``name``, ``search``, ``account`` (id), ``pipeline`` (id),
        ``stage`` (substring of the code), ``lead_source``, ``tags``,
        ``assigned_to``, ``created_at__gte``/``__lte``,
        ``closed_on__gte``/``__lte``, ``amount__gte``/``__lte``,
        ``open=true``, ``rotten=true``, ``cf_<key>``.
        """
        page = self._page(
            "/api/opportunities/",
            "opportunities",
            "opportunities_count",
            offset=offset,
            limit=limit,
            params=params,
        )
        return cast(Page[OpportunityRecord], page)

    def iter_opportunities(
        self, params: Mapping[str, str | int] | None = None
    ) -> Iterator[OpportunityRecord]:
        """Every deal matching ``params``, page by page."""
        return cast(
            Iterator[OpportunityRecord], self._iterate(self.list_opportunities, params=params)
        )

    def get_opportunity(self, opportunity_id: str) -> OpportunityRecord:
        """One deal (``opportunity_obj`` of the detail answer), with its line items."""
        path = f"/api/opportunities/{opportunity_id}/"
        return cast(OpportunityRecord, self._get_member(path, "opportunity_obj"))

    def create_opportunity(self, data: Mapping[str, Any]) -> OpportunityRecord:
        """Create a deal and return it as read back.

        ``name`` is required. ``account`` is an id; ``contacts``, ``tags``,
        ``teams``, ``assigned_to`` are id lists. Without ``pipeline``/``stage``
        the deal lands in the default pipeline's first open stage. A stage of a
        closed kind needs ``closed_on``, a won one an ``amount``.
        """
        return self._create_then_read("/api/opportunities/", data, self.get_opportunity)

    def update_opportunity(self, opportunity_id: str, data: Mapping[str, Any]) -> OpportunityRecord:
        """Change the given keys of a deal (``PATCH``) and return it as read back."""
        path = f"/api/opportunities/{opportunity_id}/"
        return self._patch_then_read(path, opportunity_id, data, self.get_opportunity)

    def delete_opportunity(self, opportunity_id: str) -> None:
        """Delete a deal for good (its line items go with it)."""
        self.request("DELETE", f"/api/opportunities/{opportunity_id}/")

    def list_opportunity_line_items(self, opportunity_id: str) -> list[OpportunityLineItemRecord]:
        """All line items of a deal (not paged)."""
        items = self._get_list(f"/api/opportunities/{opportunity_id}/line-items/", "line_items")
        return cast(list[OpportunityLineItemRecord], items)

    def add_opportunity_line_item(
        self, opportunity_id: str, data: Mapping[str, Any]
    ) -> OpportunityLineItemRecord:
        """Add a line item: ``product_id``, ``name``, ``description``, ``quantity``,
        ``unit_price`` (defaults to the product's price), ``discount_type``
        (``PERCENTAGE`` or ``FIXED``), ``discount_value``, ``order``.

        The deal's amount becomes the sum of its line items.
        """
        path = f"/api/opportunities/{opportunity_id}/line-items/"
        return cast(OpportunityLineItemRecord, self._send_member("POST", path, "line_item", data))

    def update_opportunity_line_item(
        self, opportunity_id: str, line_item_id: str, data: Mapping[str, Any]
    ) -> OpportunityLineItemRecord:
        """Change the given keys of a line item (partial ``PUT``)."""
        path = f"/api/opportunities/{opportunity_id}/line-items/{line_item_id}/"
        return cast(OpportunityLineItemRecord, self._send_member("PUT", path, "line_item", data))

    def delete_opportunity_line_item(self, opportunity_id: str, line_item_id: str) -> None:
        """Remove a line item (the deal's amount is recomputed)."""
        self.request("DELETE", f"/api/opportunities/{opportunity_id}/line-items/{line_item_id}/")

    # ================================================================ products

    def list_products(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Page[ProductRecord]:
        """One page of products, by name. ``params``: ``search`` (name, sku,
        description), ``category``, ``is_active``."""
        page = self._page(
            "/api/invoices/products/", "results", "count", offset=offset, limit=limit, params=params
        )
        return cast(Page[ProductRecord], page)

    def iter_products(
        self, params: Mapping[str, str | int] | None = None
    ) -> Iterator[ProductRecord]:
        """Every product matching ``params``, page by page."""
        return cast(Iterator[ProductRecord], self._iterate(self.list_products, params=params))

    def get_product(self, product_id: str) -> ProductRecord:
        """One product (the detail answer is the bare record)."""
        return cast(ProductRecord, self._get_object(f"/api/invoices/products/{product_id}/"))

    def create_product(self, data: Mapping[str, Any]) -> ProductRecord:
        """Create a product (admin only): ``name`` required; ``sku`` (unique per
        org), ``price``, ``currency``, ``category``, ``description``, ``is_active``."""
        return cast(
            ProductRecord, self._send_member("POST", "/api/invoices/products/", "product", data)
        )

    def update_product(self, product_id: str, data: Mapping[str, Any]) -> ProductRecord:
        """Change the given keys of a product (partial ``PUT``, admin only)."""
        path = f"/api/invoices/products/{product_id}/"
        return cast(ProductRecord, self._send_member("PUT", path, "product", data))

    def delete_product(self, product_id: str) -> None:
        """Delete a product for good (admin only); line items keep their copy of the name."""
        self.request("DELETE", f"/api/invoices/products/{product_id}/")

    # ================================================================ invoices

    def list_invoices(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Page[InvoiceRecord]:
        """One page of invoice list rows (the short shape, see :class:`InvoiceRecord`).

        ``params``: ``search``, ``status``, ``account``, ``contact``,
        ``opportunity``, ``assigned_to``, ``created_by``,
        ``issue_date_gte``/``_lte``, ``due_date_gte``/``_lte``, ``cf_<key>``,
        ``sort`` (``[-]created_at|due_date|issue_date|total_amount|status``,
        default ``-created_at``).
        """
        page = self._page(
            "/api/invoices/", "results", "count", offset=offset, limit=limit, params=params
        )
        return cast(Page[InvoiceRecord], page)

    def iter_invoices(
        self, params: Mapping[str, str | int] | None = None
    ) -> Iterator[InvoiceRecord]:
        """Every invoice list row matching ``params``, page by page (oldest first
        unless ``params`` sorts otherwise, so new invoices append at the end)."""
        query: dict[str, str | int] = {"sort": "created_at", **dict(params or {})}
        return cast(Iterator[InvoiceRecord], self._iterate(self.list_invoices, params=query))

    def get_invoice(self, invoice_id: str) -> InvoiceRecord:
        """One invoice in full (``invoice`` of the detail answer)."""
        return cast(InvoiceRecord, self._get_member(f"/api/invoices/{invoice_id}/", "invoice"))

    def create_invoice(self, data: Mapping[str, Any]) -> InvoiceRecord:
        """Create a draft invoice and return it.

        ``account_id`` and ``contact_id`` are required (the contact's primary
        account, if any, must be that account); ``opportunity_id`` optional.
        ``line_items`` is a list of ``{product, name, description, quantity,
        unit_price, discount_type, discount_value, tax_rate, order}``. Totals
        use the invoice-level ``tax_rate`` and discount; a line's ``tax_rate``
        is shown on the line but not added to ``total_amount``.
        """
        return cast(InvoiceRecord, self._send_member("POST", "/api/invoices/", "invoice", data))

    def update_invoice(self, invoice_id: str, data: Mapping[str, Any]) -> InvoiceRecord:
        """Change the given keys of an invoice (partial ``PUT``).

        Amount changes are refused (400) once the invoice is issued.
        """
        path = f"/api/invoices/{invoice_id}/"
        return cast(InvoiceRecord, self._send_member("PUT", path, "invoice", data))

    def cancel_invoice(self, invoice_id: str) -> InvoiceRecord:
        """Cancel an invoice (there is no delete); returns it with status ``Cancelled``."""
        path = f"/api/invoices/{invoice_id}/cancel/"
        return cast(InvoiceRecord, self._send_member("POST", path, "invoice"))

    def send_invoice(self, invoice_id: str) -> None:
        """Mark an invoice sent (``Draft`` -> ``Sent``, amounts then lock).

        BottleCRM also queues an e-mail to ``client_email``; with that field
        blank the e-mail task finds no recipient and sends nothing.
        """
        self.request("POST", f"/api/invoices/{invoice_id}/send/")

    def mark_invoice_paid(
        self, invoice_id: str, data: Mapping[str, Any] | None = None
    ) -> InvoiceRecord:
        """Record a payment (by default of the whole amount due) and return the
        invoice, ``Paid`` once nothing is due. ``data``: ``amount``,
        ``payment_method``, ``payment_date``, ``reference_number``, ``notes``."""
        path = f"/api/invoices/{invoice_id}/mark-paid/"
        return cast(InvoiceRecord, self._send_member("POST", path, "invoice", dict(data or {})))

    def list_invoice_line_items(self, invoice_id: str) -> list[InvoiceLineItemRecord]:
        """All lines of an invoice (a bare JSON list)."""
        path = f"/api/invoices/{invoice_id}/line-items/"
        body = self.request("GET", path)
        items = as_list(body, what="the body", method="GET", url=self._url(path))
        return cast(list[InvoiceLineItemRecord], items)

    # =========================================================== custom fields

    def list_custom_fields(self, target_model: str | None = None) -> list[CustomFieldDefinition]:
        """The org's custom-field definitions, optionally for one target model
        (``Account``, ``Contact``, ``Opportunity``, ``Invoice``, ...)."""
        params: dict[str, str | int] = {"include_counts": "false"}
        if target_model:
            params["target_model"] = target_model
        items = self._get_list("/api/custom-fields/", "definitions", params=params)
        return cast(list[CustomFieldDefinition], items)

    def create_custom_field(
        self,
        target_model: str,
        key: str,
        label: str,
        *,
        field_type: Literal["text", "textarea", "number", "dropdown", "date", "checkbox"] = "text",
        is_filterable: bool = True,
    ) -> CustomFieldDefinition:
        """Define a custom field (admin only). ``key`` is a slug, unique per
        org and target model; values then go in a record's ``custom_fields``."""
        path = "/api/custom-fields/"
        body = self.request(
            "POST",
            path,
            json_body={
                "target_model": target_model,
                "key": key,
                "label": label,
                "field_type": field_type,
                "is_filterable": is_filterable,
            },
        )
        return cast(
            CustomFieldDefinition,
            as_object(body, what="the body", method="POST", url=self._url(path)),
        )
