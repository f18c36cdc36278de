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
(the tree is drawn above the error classes), so a transport failure is a
:class:`~crmerp.TransientError` and a 400 a :class:`~crmerp.DataError`. There is
no throttling on the authenticated endpoints in 1.35.0, but a 429 (a proxy, or a
future release) raises :class:`BottleCRMRateLimited`, a :class:`~crmerp.RateLimited`
with ``retry_after`` in seconds.

JSON numbers are decoded as :class:`~decimal.Decimal`, never ``float``.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Literal, TypedDict, TypeVar, cast

import httpx

from crmerp._errors import (
    AdapterError,
    CrmErpError,
    DataError,
    FatalError,
    RateLimited,
    TransientError,
)

__all__ = [
    "AccountRecord",
    "BottleCRMAuthError",
    "BottleCRMClient",
    "BottleCRMConflict",
    "BottleCRMError",
    "BottleCRMHTTPError",
    "BottleCRMNotFound",
    "BottleCRMProtocolError",
    "BottleCRMRateLimited",
    "BottleCRMServerError",
    "BottleCRMTransportError",
    "BottleCRMUnavailableError",
    "BottleCRMValidationError",
    "ContactRecord",
    "CustomFieldDefinition",
    "InvoiceLineItemRecord",
    "InvoiceRecord",
    "JSONObject",
    "OpportunityLineItemRecord",
    "OpportunityRecord",
    "Page",
    "ProductRecord",
]

#: A decoded JSON object as the API sends or accepts it.
JSONObject = dict[str, Any]

DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 100
#: Seconds to wait after a 429 that carries no ``Retry-After``.
DEFAULT_RETRY_AFTER = 5.0


# --------------------------------------------------------------------- errors
#
# Every error is also a member of crmerp's error tree, so the engine knows what
# to do with it without knowing this client:
#
#   BottleCRMError (CrmErpError)
#   ├── BottleCRMTransportError      + TransientError   no answer: retry later
#   ├── BottleCRMProtocolError       + AdapterError     a 2xx of an unexpected shape
#   └── BottleCRMHTTPError                              any other non-2xx answer
#       ├── BottleCRMValidationError + DataError        400: the record was refused
#       ├── BottleCRMNotFound        + DataError        404
#       ├── BottleCRMConflict        + DataError        409: e.g. still referenced
#       ├── BottleCRMAuthError       + FatalError       401/403: fix the token
#       ├── BottleCRMRateLimited     + RateLimited      429: wait ``retry_after``
#       └── BottleCRMServerError                        5xx
#           └── BottleCRMUnavailableError + TransientError   502/503/504


class BottleCRMError(CrmErpError):
    """Base of every error this client raises.

    ``status_code`` and ``body`` are ``None`` when no HTTP answer was received.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        # Not super().__init__: the crmerp mixins below take other arguments.
        Exception.__init__(self, message)
        self.message = message
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return self.message


class BottleCRMTransportError(BottleCRMError, TransientError):
    """The request did not get an HTTP answer (connection refused, timeout, ...)."""


class BottleCRMProtocolError(BottleCRMError, AdapterError):
    """A 2xx answer that is not the JSON shape this client expects."""


class BottleCRMHTTPError(BottleCRMError):
    """A non-2xx answer. ``status_code`` and ``body`` are always set."""

    status_code: int

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: Any) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)

    @property
    def errors(self) -> Any:
        """The ``errors`` (or ``detail``/``message``) member of the body, if any."""
        if isinstance(self.body, dict):
            for key in ("errors", "detail", "message"):
                if key in self.body:
                    return self.body[key]
        return self.body


class _DataHTTPError(BottleCRMHTTPError, DataError):
    """A refusal about the record itself: crmerp quarantines it and goes on."""

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: Any) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)
        self.entity = None
        self.field = None
        self.value = None
        self.system = "bottlecrm"
        self.native_id = None
        self.reason = message


class BottleCRMValidationError(_DataHTTPError):
    """400: the payload was refused, ``errors`` maps field names to messages.

    Duplicate names (accounts, case-insensitive per org) and duplicate emails
    (contacts, case-insensitive per org) arrive here too.
    """


class BottleCRMAuthError(BottleCRMHTTPError, FatalError):
    """401 or 403: bad/revoked token, a scope that does not cover the call, or a
    role that may not do it. BottleCRM answers an unknown token with 403
    ``Organization context is required``, not 401."""


class BottleCRMNotFound(_DataHTTPError):
    """404: no such record, or one the token's profile may not open."""


class BottleCRMConflict(_DataHTTPError):
    """409: e.g. an account that still has invoices, estimates or projects."""


class BottleCRMRateLimited(BottleCRMHTTPError, RateLimited):
    """429: wait ``retry_after`` seconds (:data:`DEFAULT_RETRY_AFTER` when the
    server did not say)."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any,
        retry_after: float | None,
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)
        self.retry_after = DEFAULT_RETRY_AFTER if retry_after is None else retry_after


class BottleCRMServerError(BottleCRMHTTPError):
    """5xx: the server failed. 500 is usually a bug on the server (for example a
    ``cf_`` filter on SQLite) and is not retried; see :class:`BottleCRMUnavailableError`."""


class BottleCRMUnavailableError(BottleCRMServerError, TransientError):
    """502, 503 or 504: a proxy or the server is briefly unavailable; retry later."""


# -------------------------------------------------------------------- records


class OrgRef(TypedDict):
    """``{"id", "name"}`` of the record's org."""

    id: str
    name: str


class UserRef(TypedDict, total=False):
    """The ``created_by`` user as accounts, opportunities and invoices nest it."""

    id: str
    email: str
    name: str
    profile_pic: str | None


class NamedRef(TypedDict):
    """``{"id", "name"}`` of a related record."""

    id: str
    name: str


class AccountRecord(TypedDict, total=False):
    """An account as ``GET /api/accounts/<id>/`` (``account_obj``) returns it.

    There is no ``updated_at``. ``country`` is an ISO 3166 alpha-2 code.
    ``contacts``, ``cases``, ``tasks`` and ``opportunities`` appear only on the
    detail read, not in lists.
    """

    id: str
    name: str
    email: str | None
    phone: str | None
    website: str | None
    industry: str | None
    number_of_employees: int | None
    annual_revenue: str | None
    currency: str | None
    address_line: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None
    country_display: str | None
    assigned_to: list[JSONObject]
    teams: list[JSONObject]
    contacts: list[JSONObject]
    tags: list[JSONObject]
    description: str | None
    cases: list[JSONObject]
    tasks: list[JSONObject]
    opportunities: list[JSONObject]
    rollups: JSONObject | None
    created_by: UserRef | None
    created_at: str
    is_active: bool
    org: OrgRef
    custom_fields: JSONObject


class ContactRecord(TypedDict, total=False):
    """A contact. ``created_by`` is a bare user id here; ``account`` the primary
    account's id, ``linked_accounts`` the many-to-many links."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    phone_e164: str
    source: str
    source_detail: str
    source_ref: str
    organization: str | None
    title: str | None
    department: str | None
    do_not_call: bool
    linkedin_url: str | None
    address_line: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None
    assigned_to: list[JSONObject]
    teams: list[JSONObject]
    tags: list[JSONObject]
    description: str | None
    created_by: str | None
    created_at: str
    updated_at: str
    is_active: bool
    org: OrgRef
    account: str | None
    account_detail: NamedRef | None
    linked_accounts: list[NamedRef]
    custom_fields: JSONObject


class ProductRecord(TypedDict, total=False):
    """A catalogue product. ``price`` is a decimal string; ``sku`` is unique per org."""

    id: str
    name: str
    description: str | None
    sku: str | None
    price: str
    currency: str | None
    category: str | None
    is_active: bool
    used_on: int
    created_at: str
    updated_at: str


class OpportunityLineItemRecord(TypedDict, total=False):
    """A deal line item; ``subtotal``, ``discount_amount`` and ``total`` are computed."""

    id: str
    product: ProductRecord | None
    name: str
    description: str
    quantity: str
    unit_price: str
    discount_type: str
    discount_value: str
    discount_amount: str
    subtotal: str
    total: str
    order: int
    formatted_unit_price: str
    formatted_total: str
    created_at: str
    updated_at: str


class OpportunityRecord(TypedDict, total=False):
    """A deal. ``account`` is nested ``{id, name}`` here (a bare id in writes).

    There is no ``updated_at``; ``stage_changed_at`` moves only with the stage.
    Once a deal has line items its ``amount`` is their sum
    (``amount_source == "CALCULATED"``) and a manual amount is overwritten.
    """

    id: str
    name: str
    account: NamedRef | None
    pipeline: str
    stage: str
    stage_label: str
    stage_kind: str
    opportunity_type: str | None
    currency: str | None
    amount: str | None
    amount_source: str
    probability: int | None
    closed_on: str | None
    lead_source: str | None
    source_detail: str
    source_ref: str
    contacts: list[JSONObject]
    line_items: list[OpportunityLineItemRecord]
    line_items_total: Decimal
    assigned_to: list[JSONObject]
    teams: list[JSONObject]
    closed_by: JSONObject | None
    tags: list[JSONObject]
    description: str | None
    created_by: UserRef | None
    created_at: str
    is_active: bool
    org: OrgRef
    created_on_arrow: str
    stage_changed_at: str | None
    days_in_stage: int
    aging_status: str
    custom_fields: JSONObject


class InvoiceLineItemRecord(TypedDict, total=False):
    """An invoice line. ``product`` is a bare id here."""

    id: str
    product: str | None
    product_name: str | None
    name: str | None
    description: str
    quantity: str
    unit_price: str
    discount_type: str
    discount_value: str
    discount_amount: str
    net_amount: str
    tax_rate: str
    tax_amount: str
    subtotal: str
    total: str
    order: int
    formatted_unit_price: str
    formatted_total: str


class InvoiceRecord(TypedDict, total=False):
    """An invoice as the detail read and the writes return it.

    List rows (``iter_invoices``) are a shorter shape: ``account``/``contact``
    are bare ids there, with ``account_name``/``contact_name`` beside them, and
    there are no line items.
    """

    id: str
    invoice_number: str
    invoice_title: str
    status: str
    account: Any
    contact: Any
    opportunity: JSONObject | None
    project: Any
    client_name: str
    client_email: str
    client_phone: str
    billing_address_line: str
    billing_city: str
    billing_state: str
    billing_postcode: str
    billing_country: str
    client_address_line: str
    client_city: str
    client_state: str
    client_postcode: str
    client_country: str
    subtotal: str
    discount_type: str
    discount_value: str
    discount_amount: str
    tax_rate: str
    tax_amount: str
    shipping_amount: str
    total_amount: str
    currency: str
    amount_paid: str
    amount_due: str
    issue_date: str | None
    due_date: str | None
    payment_terms: str
    sent_at: str | None
    viewed_at: str | None
    paid_at: str | None
    public_token: str
    public_link_enabled: bool
    public_url: str
    template: Any
    notes: str
    terms: str
    details: str | None
    billing_period: str | None
    po_number: str | None
    custom_fields: JSONObject
    line_items: list[InvoiceLineItemRecord]
    payments: list[JSONObject]
    assigned_to: list[JSONObject]
    teams: list[JSONObject]
    is_overdue: bool
    created_at: str
    updated_at: str
    created_by: UserRef | None
    org: OrgRef
    account_name: str
    contact_name: str
    line_items_count: int


class CustomFieldDefinition(TypedDict, total=False):
    """A per-org custom field on one target model (``Account``, ``Contact``, ...)."""

    id: str
    target_model: str
    key: str
    label: str
    field_type: str
    options: Any
    is_required: bool
    is_filterable: bool
    display_order: int
    is_active: bool
    created_at: str
    updated_at: str


RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class Page(Generic[RecordT]):
    """One page of a list endpoint.

    ``total`` is the server's count of matching records (for accounts: of the
    larger of the active and inactive halves, which page together).
    """

    items: list[RecordT]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        """Whether a later page may hold more records."""
        return self.offset + self.limit < self.total


# --------------------------------------------------------------------- helpers


def _json_default(value: Any) -> Any:
    """Encode what ``json`` cannot: decimals and UUIDs as strings, dates ISO."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())


def _as_object(value: Any, *, what: str, method: str, url: str) -> JSONObject:
    if not isinstance(value, dict):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be a JSON object, got {type(value).__name__}",
            method=method,
            url=url,
            body=value,
        )
    return cast(JSONObject, value)


def _as_list(value: Any, *, what: str, method: str, url: str) -> list[JSONObject]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be a list of objects",
            method=method,
            url=url,
            body=value,
        )
    return cast(list[JSONObject], value)


def _int(value: Any, *, what: str, method: str, url: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be an integer", method=method, url=url, body=value
        )
    return value


# ---------------------------------------------------------------------- client


class BottleCRMClient:
    """Synchronous client for one BottleCRM org, authenticated by a personal access token.

    Use as a context manager, or call :meth:`close`. ``transport`` is passed to
    :class:`httpx.Client` (tests use :class:`httpx.MockTransport`).
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
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
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
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    # -- lifecycle

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

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
        url = f"{self.base_url}{path}"
        content: bytes | None = None
        headers: dict[str, str] = {}
        if json_body is not None:
            content = json.dumps(json_body, default=_json_default).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(
                method,
                path,
                params=dict(params) if params else None,
                content=content,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise BottleCRMTransportError(
                f"{method} {url}: {exc.__class__.__name__}: {exc}", method=method, url=url
            ) from exc
        body = self._decode(response)
        if response.is_success:
            if isinstance(body, str):
                raise BottleCRMProtocolError(
                    f"{method} {url}: expected JSON, got {response.headers.get('content-type')!r}",
                    method=method,
                    url=url,
                    status_code=response.status_code,
                    body=body,
                )
            return body
        raise self._error(method, url, response, body)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            # Decimal, never float: amounts must stay exact end to end.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            return response.text

    @staticmethod
    def _error(method: str, url: str, response: httpx.Response, body: Any) -> BottleCRMHTTPError:
        code = response.status_code
        detail = body if isinstance(body, dict | list) else str(body)[:500]
        message = f"{method} {url} -> HTTP {code}: {detail}"
        if code == 429:
            return BottleCRMRateLimited(
                message,
                method=method,
                url=url,
                status_code=code,
                body=body,
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            )
        error_class: type[BottleCRMHTTPError]
        if code == 400:
            error_class = BottleCRMValidationError
        elif code in (401, 403):
            error_class = BottleCRMAuthError
        elif code == 404:
            error_class = BottleCRMNotFound
        elif code == 409:
            error_class = BottleCRMConflict
        elif code in (502, 503, 504):
            error_class = BottleCRMUnavailableError
        elif code >= 500:
            error_class = BottleCRMServerError
        else:
            error_class = BottleCRMHTTPError
        return error_class(message, method=method, url=url, status_code=code, body=body)

    def _get_object(
        self, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> JSONObject:
        body = self.request("GET", path, params=params)
        return _as_object(body, what="the body", method="GET", url=f"{self.base_url}{path}")

    def _member(self, body: Any, key: str, *, method: str, path: str) -> JSONObject:
        url = f"{self.base_url}{path}"
        outer = _as_object(body, what="the body", method=method, url=url)
        return _as_object(outer.get(key), what=f"'{key}'", method=method, url=url)

    def _created_id(self, body: Any, *, path: str) -> str:
        url = f"{self.base_url}{path}"
        outer = _as_object(body, what="the body", method="POST", url=url)
        new_id = outer.get("id")
        if not isinstance(new_id, str):
            raise BottleCRMProtocolError(
                f"POST {url}: the answer carries no 'id'", method="POST", url=url, body=body
            )
        return new_id

    # -- paging

    def _page(
        self,
        path: str,
        items_key: str,
        count_key: str,
        *,
        offset: int,
        limit: int | None,
        params: Mapping[str, str | int] | None,
    ) -> Page[JSONObject]:
        size = limit or self.page_size
        query: dict[str, str | int] = dict(params or {})
        query.update({"limit": size, "offset": offset})
        body = self._get_object(path, params=query)
        url = f"{self.base_url}{path}"
        items = _as_list(body.get(items_key), what=f"'{items_key}'", method="GET", url=url)
        total = _int(body.get(count_key), what=f"'{count_key}'", method="GET", url=url)
        return Page(items=items, total=total, offset=offset, limit=size)

    def _iterate(
        self,
        fetch: Callable[..., Page[Any]],
        *,
        params: Mapping[str, str | int] | None,
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
        size = limit or self.page_size
        query: dict[str, str | int] = dict(params or {})
        query.update({"limit": size, "offset": offset})
        path = "/api/accounts/"
        url = f"{self.base_url}{path}"
        body = self._get_object(path, params=query)
        active = _as_object(
            body.get("active_accounts"), what="'active_accounts'", method="GET", url=url
        )
        closed = _as_object(
            body.get("closed_accounts"), what="'closed_accounts'", method="GET", url=url
        )
        items = _as_list(active.get("open_accounts"), what="'open_accounts'", method="GET", url=url)
        items += _as_list(
            closed.get("close_accounts"), what="'close_accounts'", method="GET", url=url
        )
        total = max(
            _int(
                active.get("open_accounts_count"),
                what="'open_accounts_count'",
                method="GET",
                url=url,
            ),
            _int(
                closed.get("close_accounts_count"),
                what="'close_accounts_count'",
                method="GET",
                url=url,
            ),
        )
        return Page(items=cast(list[AccountRecord], items), total=total, offset=offset, limit=size)

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
        path = f"/api/accounts/{account_id}/"
        return cast(
            AccountRecord,
            self._member(self._get_object(path), "account_obj", method="GET", path=path),
        )

    def create_account(self, data: Mapping[str, Any]) -> AccountRecord:
        """Create an account and return it as read back.

        ``name`` is required and unique per org, ignoring case. Other writable
        keys: email, phone, website, industry, number_of_employees,
        annual_revenue, currency, address_line, city, state, postcode, country,
        description, is_active, and id lists contacts, tags, teams, assigned_to;
        ``custom_fields`` (only keys with a definition are kept).
        """
        path = "/api/accounts/"
        new_id = self._created_id(self.request("POST", path, json_body=data), path=path)
        return self.get_account(new_id)

    def update_account(self, account_id: str, data: Mapping[str, Any]) -> AccountRecord:
        """Change the given keys of an account (``PATCH``) and return it as read back."""
        self.request("PATCH", f"/api/accounts/{account_id}/", json_body=data)
        return self.get_account(account_id)

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
        path = f"/api/contacts/{contact_id}/"
        return cast(
            ContactRecord,
            self._member(self._get_object(path), "contact_obj", method="GET", path=path),
        )

    def create_contact(self, data: Mapping[str, Any]) -> ContactRecord:
        """Create a contact and return it as read back.

        ``first_name`` and ``last_name`` are required; ``email`` is unique per
        org ignoring case. ``account`` (id) sets the primary account and also
        links the contact to it. ``source`` must be one of the org's lead
        sources; ``source_ref`` is free text (255).
        """
        path = "/api/contacts/"
        new_id = self._created_id(self.request("POST", path, json_body=data), path=path)
        return self.get_contact(new_id)

    def update_contact(self, contact_id: str, data: Mapping[str, Any]) -> ContactRecord:
        """Change the given keys of a contact (``PATCH``) and return it as read back."""
        self.request("PATCH", f"/api/contacts/{contact_id}/", json_body=data)
        return self.get_contact(contact_id)

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
        return cast(
            OpportunityRecord,
            self._member(self._get_object(path), "opportunity_obj", method="GET", path=path),
        )

    def create_opportunity(self, data: Mapping[str, Any]) -> OpportunityRecord:
        """Create a deal and return it as read back.

        ``name`` is required. ``account`` is an id; ``contacts``, ``tags``,
        ``teams``, ``assigned_to`` are id lists. Without ``pipeline``/``stage``
        the deal lands in the default pipeline's first open stage. A stage of a
        closed kind needs ``closed_on``, a won one an ``amount``.
        """
        path = "/api/opportunities/"
        new_id = self._created_id(self.request("POST", path, json_body=data), path=path)
        return self.get_opportunity(new_id)

    def update_opportunity(self, opportunity_id: str, data: Mapping[str, Any]) -> OpportunityRecord:
        """Change the given keys of a deal (``PATCH``) and return it as read back."""
        self.request("PATCH", f"/api/opportunities/{opportunity_id}/", json_body=data)
        return self.get_opportunity(opportunity_id)

    def delete_opportunity(self, opportunity_id: str) -> None:
        """Delete a deal for good (its line items go with it)."""
        self.request("DELETE", f"/api/opportunities/{opportunity_id}/")

    def list_opportunity_line_items(self, opportunity_id: str) -> list[OpportunityLineItemRecord]:
        """All line items of a deal (not paged)."""
        path = f"/api/opportunities/{opportunity_id}/line-items/"
        body = self._get_object(path)
        items = _as_list(
            body.get("line_items"), what="'line_items'", method="GET", url=f"{self.base_url}{path}"
        )
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
        body = self.request("POST", path, json_body=data)
        return cast(
            OpportunityLineItemRecord, self._member(body, "line_item", method="POST", path=path)
        )

    def update_opportunity_line_item(
        self, opportunity_id: str, line_item_id: str, data: Mapping[str, Any]
    ) -> OpportunityLineItemRecord:
        """Change the given keys of a line item (partial ``PUT``)."""
        path = f"/api/opportunities/{opportunity_id}/line-items/{line_item_id}/"
        body = self.request("PUT", path, json_body=data)
        return cast(
            OpportunityLineItemRecord, self._member(body, "line_item", method="PUT", path=path)
        )

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
        path = "/api/invoices/products/"
        return cast(
            ProductRecord,
            self._member(
                self.request("POST", path, json_body=data), "product", method="POST", path=path
            ),
        )

    def update_product(self, product_id: str, data: Mapping[str, Any]) -> ProductRecord:
        """Change the given keys of a product (partial ``PUT``, admin only)."""
        path = f"/api/invoices/products/{product_id}/"
        return cast(
            ProductRecord,
            self._member(
                self.request("PUT", path, json_body=data), "product", method="PUT", path=path
            ),
        )

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
        path = f"/api/invoices/{invoice_id}/"
        return cast(
            InvoiceRecord, self._member(self._get_object(path), "invoice", method="GET", path=path)
        )

    def create_invoice(self, data: Mapping[str, Any]) -> InvoiceRecord:
        """Create a draft invoice and return it.

        ``account_id`` and ``contact_id`` are required (the contact's primary
        account, if any, must be that account); ``opportunity_id`` optional.
        ``line_items`` is a list of ``{product, name, description, quantity,
        unit_price, discount_type, discount_value, tax_rate, order}``. Totals
        use the invoice-level ``tax_rate`` and discount; a line's ``tax_rate``
        is shown on the line but not added to ``total_amount``.
        """
        path = "/api/invoices/"
        return cast(
            InvoiceRecord,
            self._member(
                self.request("POST", path, json_body=data), "invoice", method="POST", path=path
            ),
        )

    def update_invoice(self, invoice_id: str, data: Mapping[str, Any]) -> InvoiceRecord:
        """Change the given keys of an invoice (partial ``PUT``).

        Amount changes are refused (400) once the invoice is issued.
        """
        path = f"/api/invoices/{invoice_id}/"
        return cast(
            InvoiceRecord,
            self._member(
                self.request("PUT", path, json_body=data), "invoice", method="PUT", path=path
            ),
        )

    def cancel_invoice(self, invoice_id: str) -> InvoiceRecord:
        """Cancel an invoice (there is no delete); returns it with status ``Cancelled``."""
        path = f"/api/invoices/{invoice_id}/cancel/"
        return cast(
            InvoiceRecord,
            self._member(self.request("POST", path), "invoice", method="POST", path=path),
        )

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
        body = self.request("POST", path, json_body=dict(data or {}))
        return cast(InvoiceRecord, self._member(body, "invoice", method="POST", path=path))

    def list_invoice_line_items(self, invoice_id: str) -> list[InvoiceLineItemRecord]:
        """All lines of an invoice (a bare JSON list)."""
        path = f"/api/invoices/{invoice_id}/line-items/"
        body = self.request("GET", path)
        return cast(
            list[InvoiceLineItemRecord],
            _as_list(body, what="the body", method="GET", url=f"{self.base_url}{path}"),
        )

    # =========================================================== custom fields

    def list_custom_fields(self, target_model: str | None = None) -> list[CustomFieldDefinition]:
        """The org's custom-field definitions, optionally for one target model
        (``Account``, ``Contact``, ``Opportunity``, ``Invoice``, ...)."""
        params: dict[str, str | int] = {"include_counts": "false"}
        if target_model:
            params["target_model"] = target_model
        path = "/api/custom-fields/"
        body = self._get_object(path, params=params)
        items = _as_list(
            body.get("definitions"),
            what="'definitions'",
            method="GET",
            url=f"{self.base_url}{path}",
        )
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
        body = self.request(
            "POST",
            "/api/custom-fields/",
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
            _as_object(
                body, what="the body", method="POST", url=f"{self.base_url}/api/custom-fields/"
            ),
        )
