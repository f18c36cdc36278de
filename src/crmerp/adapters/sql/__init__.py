"""An adapter over tables of any SQL database SQLAlchemy speaks to.

Declare each entity's table, key columns and child tables, in Python with
:class:`SQLEntity` and :class:`ChildTable`, or in ``crmerp.toml`` with no Python
at all (``adapter = "sql"``; see the adapter guide)::

    from crmerp.adapters.sql import SQLAdapter, SQLEntity

    erp = SQLAdapter(
        "postgresql+psycopg://erp@db/erp",
        entities=[SQLEntity("customer", "customers", CUSTOMER, stamp_column="updated_at",
                            reference_column="crmerp_ref", deleted_column="deleted")],
    )
"""

from crmerp.adapters.sql._adapter import SQLAdapter
from crmerp.adapters.sql._config import entities_from_settings
from crmerp.adapters.sql._tables import ChildTable, SQLEntity

__all__ = ["ChildTable", "SQLAdapter", "SQLEntity", "entities_from_settings"]
