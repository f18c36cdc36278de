"""A legacy ERP in SQL tables for benchmarks/sync.py --erp sql, declared as settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from crmerp.adapters.sql import SQLAdapter

STAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

ENTITIES: dict[str, Any] = {
    "customer": {
        "table": "customers",
        "stamp": "updated_at",
        "reference": "crmerp_ref",
        "deleted": "deleted",
        "fields": {
            "name": "name",
            "emails": "email",
            "phones": "phone",
            "payment_terms": "payment_terms",
            "currency": "currency",
        },
        "children": {
            "addresses": {
                "table": "customer_addresses",
                "parent": "customer_id",
                "fields": {
                    "kind": "kind",
                    "street": "street",
                    "city": "city",
                    "postcode": "postcode",
                    "country": "country",
                },
            }
        },
    }
}


def create_tables(url: str) -> None:
    """The customers and their addresses, as a legacy ERP keeps them."""
    meta = sa.MetaData()
    sa.Table(
        "customers",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("payment_terms", sa.String(40)),
        sa.Column("currency", sa.String(3)),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("crmerp_ref", sa.String(120), index=True),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
        sa.Index("customers_feed", "updated_at", "id"),
    )
    sa.Table(
        "customer_addresses",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("street", sa.String(200)),
        sa.Column("city", sa.String(100)),
        sa.Column("postcode", sa.String(20)),
        sa.Column("country", sa.String(2)),
    )
    engine = sa.create_engine(url)
    meta.create_all(engine)
    engine.dispose()


def adapter(url: str, page_size: int) -> SQLAdapter:
    """The SQL adapter over those tables, declared as crmerp.toml would."""
    return SQLAdapter(url, entities=ENTITIES, page_size=page_size)


def rename_one_percent(url: str) -> int:
    """The ERP's own application renames every hundredth customer; returns how many."""
    engine = sa.create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        changed = conn.execute(
            sa.text(
                "UPDATE customers SET name = 'Renamed ' || id, updated_at = :now "
                "WHERE id % 100 = 50"
                if url.startswith("sqlite")
                else "UPDATE customers SET name = CONCAT('Renamed ', id), updated_at = :now "
                "WHERE id % 100 = 50"
            ),
            {"now": now},
        ).rowcount
    engine.dispose()
    return int(changed)
