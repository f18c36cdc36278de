"""Durable sync state: SQLite (the embedded default) and PostgreSQL, one schema.

>>> from crmerp.state import open_state
>>> state = open_state("sqlite:///:memory:", create=True)
>>> with state.transaction("default") as tx:
...     tx.links.count()
{}
>>> state.close()
"""

from crmerp.state._rows import (
    AuditEntry,
    ConflictRecord,
    ConflictStatus,
    InboxRow,
    InboxStatus,
    IntentRow,
    IntentStatus,
    LeaseRow,
    QuarantineRecord,
)
from crmerp.state._schema import SCHEMA_VERSION
from crmerp.state._store import StateStore, open_state
from crmerp.state._tx import StateTx

__all__ = [
    "SCHEMA_VERSION",
    "AuditEntry",
    "ConflictRecord",
    "ConflictStatus",
    "InboxRow",
    "InboxStatus",
    "IntentRow",
    "IntentStatus",
    "LeaseRow",
    "QuarantineRecord",
    "StateStore",
    "StateTx",
    "open_state",
]
