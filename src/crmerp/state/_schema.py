"""The state schema: one set of tables for SQLite and PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Enum,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from crmerp.state._rows import ConflictStatus, InboxStatus, IntentStatus

__all__ = ["SCHEMA_VERSION", "TABLES", "metadata"]

SCHEMA_VERSION = 6
"""The schema version this crmerp writes; older states are migrated, newer refused."""

metadata = MetaData()


def _status(kind: type[StrEnum]) -> Enum:
    """A status column: the enum's values as text (no database enum type, so a
    new status needs no migration of the type and SQLite and PostgreSQL agree)."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda kinds: [k.value for k in kinds],
    )


meta = Table(
    "crmerp_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

links = Table(
    "crmerp_links",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("native_id", String(256), primary_key=True),
    Column("global_id", String(128), nullable=False),
    Column("seen_hash", String(64), nullable=True),
    # The raw hash of the native payload last read for this record (see
    # sync/_raw.py); None after the engine wrote the record, until it is read again.
    Column("raw_hash", String(64), nullable=True),
    Index("ix_links_global", "scope", "entity", "global_id", "system"),
)

bases = Table(
    "crmerp_bases",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("global_id", String(128), primary_key=True),
    Column("data", Text, nullable=False),
    Column("hash", String(64), nullable=False),
)

cursors = Table(
    "crmerp_cursors",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("cursor", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

inbox = Table(
    "crmerp_inbox",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("native_id", String(256), primary_key=True),
    Column("global_id", String(128), nullable=True),
    Column("data", Text, nullable=True),
    Column("stamp", DateTime(timezone=True), nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("new", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("note", Text, nullable=True),
    Column(
        "status",
        _status(InboxStatus),
        nullable=False,
        default=InboxStatus.PENDING.value,
        server_default=InboxStatus.PENDING.value,
    ),
    Column("version", Text, nullable=True),
    Column("raw_hash", String(64), nullable=True),
    Index("ix_inbox_group", "scope", "entity", "global_id"),
)

intents = Table(
    "crmerp_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(128), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("system", String(64), nullable=False),
    Column("global_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reference", String(256), nullable=False),
    Column("native_id", String(256), nullable=True),
    Column("payload_hash", String(64), nullable=False),
    Column("status", _status(IntentStatus), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The unit of work that recorded the intent (``Unit.key``); only a worker that
    # holds that unit's lease settles it.
    Column("unit", String(256), nullable=False, server_default=""),
    # The writes of a whole batch as JSON (system, global id, kind, reference,
    # native id, payload hash each); NULL on a row that holds one write.
    Column("items", Text, nullable=True),
    Index("ix_intents_open", "scope", "status"),
)

conflicts = Table(
    "crmerp_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("global_id", String(128), nullable=False),
    Column("field", String(128), nullable=False),
    Column("base", Text, nullable=True),
    Column("crm", Text, nullable=True),
    Column("erp", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("status", _status(ConflictStatus), nullable=False),
    Column("resolution", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Index("ix_conflicts_open", "scope", "status", "entity", "global_id"),
)

quarantine = Table(
    "crmerp_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(128), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("system", String(64), nullable=False),
    Column("native_id", String(256), nullable=False),
    Column("field", String(256), nullable=True),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_quarantine_record", "scope", "entity", "system", "native_id"),
)

audit = Table(
    "crmerp_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(128), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("global_id", String(128), nullable=False),
    Column("field", String(128), nullable=False),
    Column("old", Text, nullable=True),
    Column("new", Text, nullable=True),
    Column("origin", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

match_decisions = Table(
    "crmerp_match_decisions",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("crm_id", String(256), primary_key=True),
    Column("erp_id", String(256), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

leases = Table(
    "crmerp_leases",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("unit", String(256), primary_key=True),
    # The worker's name (worker_id) and the engine instance holding the lease:
    # two engines with one worker_id are two instances.
    Column("holder", String(128), nullable=False),
    Column("instance", String(256), nullable=False),
    # The fencing token: grows at every take-over by another instance, never goes
    # back (a released lease keeps its row and token).
    Column("token", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "crmerp_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("scope", String(128), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("report", Text, nullable=True),
)

TABLES = tuple(metadata.tables)
"""Every table name the schema declares."""
