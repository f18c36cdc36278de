"""The shapes of BottleCRM records as the API answers them, and one page of a list.

These are :class:`~typing.TypedDict` views for type checking only: the client
returns the decoded JSON as it came (numbers as :class:`~decimal.Decimal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypedDict, TypeVar

__all__ = [
    "AccountRecord",
    "ContactRecord",
    "CustomFieldDefinition",
    "InvoiceLineItemRecord",
    "InvoiceRecord",
    "JSONObject",
    "NamedRef",
    "OpportunityLineItemRecord",
    "OpportunityRecord",
    "OrgRef",
    "Page",
    "ProductRecord",
    "UserRef",
]

#: A decoded JSON object as the API sends or accepts it.
JSONObject = dict[str, Any]


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
