"""A "legacy ERP" kept in SQL tables, and how the SQL adapter is told about it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from crmerp.adapters import (
    EntityMapping,
    RecordMapping,
    each,
    field,
    first_or_none,
    first_phone,
    money,
    null_as,
)
from crmerp.adapters.sql import ChildTable, SQLEntity
from crmerp.models import Address, ContactPerson, Customer, Product

# Microseconds on MariaDB too (its DATETIME keeps whole seconds unless told).
STAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def legacy_schema() -> sa.MetaData:
    """Customers with addresses and contacts, and products, as a legacy ERP keeps them."""
    meta = sa.MetaData()
    sa.Table(
        "customers",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tax_id", sa.String(40)),
        sa.Column("email", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("credit_limit", sa.Numeric(14, 2)),
        sa.Column("credit_currency", sa.String(3)),
        sa.Column("payment_terms", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("crmerp_ref", sa.String(120), index=True),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    )
    sa.Table(
        "customer_addresses",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("street", sa.String(200)),
        sa.Column("city", sa.String(100)),
        sa.Column("postcode", sa.String(20)),
        sa.Column("region", sa.String(100)),
        sa.Column("country", sa.String(2)),
    )
    sa.Table(
        "customer_contacts",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100)),
        sa.Column("email", sa.String(200)),
        sa.Column("phone", sa.String(40)),
    )
    sa.Table(
        "products",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("crmerp_ref", sa.String(120)),
    )
    sa.Table(  # a table with no stamp and no deleted flag: read in full, deleted for real
        "parts",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("crmerp_ref", sa.String(120)),
    )
    return meta


ADDRESS = RecordMapping(
    Address,
    [
        field("kind"),
        field("street", to_canonical=null_as("")),
        field("city", to_canonical=null_as("")),
        field("postcode", to_canonical=null_as("")),
        field("region", to_canonical=null_as("")),
        field("country"),
    ],
)

CONTACT = RecordMapping(
    ContactPerson,
    [
        field("name"),
        field("role", to_canonical=null_as("")),
        field("email"),
        field("phone", to_native=lambda phone: first_phone([phone] if phone else [])),
    ],
)

CUSTOMER = EntityMapping(
    Customer,
    [
        field("name"),
        field("tax_id"),
        field("emails", "email", to_canonical=lambda v: [v] if v else [], to_native=first_or_none),
        field("phones", "phone", to_canonical=lambda v: [v] if v else [], to_native=first_phone),
        money("credit_limit", amount="credit_limit", currency="credit_currency"),
        field("payment_terms"),
        field("currency"),
        field("active"),
        each("addresses", "addresses", ADDRESS),
        each("contacts", "contacts", CONTACT),
    ],
    omits={"kind"},
)

PRODUCT = EntityMapping(
    Product,
    [
        field("sku"),
        field("name"),
        field("description", to_canonical=null_as("")),
        field("unit"),
        field("active"),
    ],
    omits={"kind", "gtin"},
)

ENTITIES = [
    SQLEntity(
        "customer",
        "customers",
        CUSTOMER,
        stamp_column="updated_at",
        reference_column="crmerp_ref",
        deleted_column="deleted",
        children={
            "addresses": ChildTable("customer_addresses", "customer_id"),
            "contacts": ChildTable("customer_contacts", "customer_id"),
        },
    ),
    SQLEntity(
        "product",
        "products",
        PRODUCT,
        stamp_column="updated_at",
        reference_column="crmerp_ref",
    ),
]
"""Customers soft-deleted (reported), products deleted for real."""

UNSTAMPED = [SQLEntity("product", "parts", PRODUCT, reference_column="crmerp_ref")]
"""Products in a table with no stamp: read in full each run, diffed by the engine."""


SETTINGS_TOML = """\
[erp.settings.entities.customer]
table = "customers"
stamp = "updated_at"
reference = "crmerp_ref"
deleted = "deleted"

[erp.settings.entities.customer.fields]
name = "name"
tax_id = "tax_id"
emails = "email"
phones = "phone"
credit_limit = { amount = "credit_limit", currency = "credit_currency" }
payment_terms = "payment_terms"
currency = "currency"
active = "active"

[erp.settings.entities.customer.children.addresses]
table = "customer_addresses"
parent = "customer_id"
fields = { kind = "kind", street = "street", city = "city", postcode = "postcode", \
region = "region", country = "country" }

[erp.settings.entities.customer.children.contacts]
table = "customer_contacts"
parent = "customer_id"
fields = { name = "name", role = "role", email = "email", phone = "phone" }

[erp.settings.entities.product]
table = "products"
stamp = "updated_at"
reference = "crmerp_ref"
fields = { sku = "sku", name = "name", description = "description", unit = "unit", \
active = "active" }
"""
"""The same tables declared in ``crmerp.toml``, with no Python."""
