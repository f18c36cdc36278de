"""Durable sync state: SQLite (the embedded default) and PostgreSQL, one schema.

>>> from crmerp.state import open_state
>>> state = open_state("sqlite:///:memory:", create=True)
>>> state.close()
"""

from crmerp.state._rows import ConflictRecord, InboxRow, IntentRow, LeaseRow, QuarantineRecord
from crmerp.state._schema import SCHEMA_VERSION
from crmerp.state._store import StateStore, Tx, open_state

__all__ = [
    "SCHEMA_VERSION",
    "ConflictRecord",
    "InboxRow",
    "IntentRow",
    "LeaseRow",
    "QuarantineRecord",
    "StateStore",
    "Tx",
    "open_state",
]
