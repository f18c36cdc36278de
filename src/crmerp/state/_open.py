"""Opening a state store: URL parsing, integrity checks, schema version and migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import QueuePool, StaticPool

from crmerp._errors import StateCorrupt, StateMissing, StateVersionError, UsageError
from crmerp.state._schema import SCHEMA_VERSION, leases, meta, metadata

__all__ = ["connect"]


def _inbox_status(conn: Any) -> None:
    """1 -> 2: the inbox says where a change stands in a status column, not in a
    prefix of its note (``review:<id>``, ``failed: <reason>``)."""
    conn.execute(
        text("ALTER TABLE crmerp_inbox ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'pending'")
    )
    conn.execute(
        text(
            "UPDATE crmerp_inbox SET status = 'review', note = 'match review ' || SUBSTR(note, 8) "
            "WHERE note LIKE 'review:%'"
        )
    )
    conn.execute(
        text(
            "UPDATE crmerp_inbox SET status = 'failed', note = TRIM(SUBSTR(note, 8)) "
            "WHERE note LIKE 'failed:%'"
        )
    )


def _inbox_version(conn: Any) -> None:
    """2 -> 3: staged rows keep the version of the record as read, which the
    engine's conditional writes expect. Rows staged before have none (``NULL``):
    their writes go out unconditional, after the usual re-read."""
    conn.execute(text("ALTER TABLE crmerp_inbox ADD COLUMN version TEXT"))


def _fenced_leases(conn: Any) -> None:
    """3 -> 4: leases per unit of work with a fencing token; intents name their unit.

    Leases are not carried over: a version 1 lease names a scope, not a unit, and
    a worker of the old release still running fails at its next renewal against
    the new table. Pending intents of version 1 were scope-wide with one unit per
    entity, so each gets the unit of its entity (the whole partition, ``0/1``).
    """
    leases.drop(conn)
    leases.create(conn)
    conn.execute(
        text("ALTER TABLE crmerp_intents ADD COLUMN unit VARCHAR(256) NOT NULL DEFAULT ''")
    )
    conn.execute(text("UPDATE crmerp_intents SET unit = scope || '|' || entity || '|0/1'"))


def _add_raw_hashes(conn: Any) -> None:
    """4 -> 5: links and staged rows keep the raw hash of the payload read."""
    for table in ("crmerp_links", "crmerp_inbox"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN raw_hash VARCHAR(64)"))


def _intent_batches(conn: Any) -> None:
    """5 -> 6: an intent row may hold the writes of a whole batch."""
    conn.execute(text("ALTER TABLE crmerp_intents ADD COLUMN items TEXT"))


MIGRATIONS: dict[int, Any] = {
    1: _inbox_status,
    2: _inbox_version,
    3: _fenced_leases,
    4: _add_raw_hashes,
    5: _intent_batches,
}
"""Version -> function(connection) that upgrades a state from that version by one."""


def connect(url: str, *, create: bool) -> Engine:
    """An engine for ``url`` whose schema is present, current and intact."""
    engine = _engine(url, create=create)
    try:
        with engine.begin() as conn:
            _check_integrity(conn, engine)
            tables = set(inspect(conn).get_table_names())
            if not tables & set(metadata.tables):
                if not create:
                    raise StateMissing(
                        f"no crmerp state at {_safe(url)}; open it with create=True "
                        "(or `crmerp init`) to start a new one"
                    )
                metadata.create_all(conn)
                conn.execute(
                    meta.insert(),
                    [
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "generation", "value": "0"},
                    ],
                )
                return engine
            _check_version(conn, tables)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        if engine.dialect.name == "sqlite":
            raise StateCorrupt(
                f"state file {_safe(url).removeprefix('sqlite:///')} cannot be read "
                f"({exc.orig}). {_DAMAGED_NEXT}"
            ) from exc
        raise StateCorrupt(f"state at {_safe(url)} cannot be read: {exc.orig}") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def _engine(url: str, *, create: bool) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not create and not Path(path).exists():
            raise StateMissing(
                f"no state file {path}; open it with create=True (or `crmerp init`) to start"
            )
        if path and path != ":memory:" and not Path(path).parent.is_dir():
            raise StateMissing(
                f"the folder {Path(path).parent} of state file {Path(path).name} does not "
                "exist; create it, or name a state file in a folder that does"
            )
        if path in ("", ":memory:"):
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            # One connection kept open: opening a file and setting its pragmas per
            # transaction cost more than the transaction's own work.
            engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
    raise UsageError(
        f"unsupported state URL {_safe(url)}: use sqlite:///path or postgresql://...",
        code="state-url",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Checkpoint every 10,000 pages (40 MB of log) rather than 1,000: a large sync
    # dirties the same index pages batch after batch, and each checkpoint copies
    # them back and syncs the file; a tenth of the checkpoints halve the commits' cost.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _check_integrity(conn: Any, engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    found = [str(row[0]) for row in conn.execute(text("PRAGMA quick_check(20)"))]
    if found != ["ok"]:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise StateCorrupt(
            f"state file {engine.url.database} is damaged: SQLite's integrity check "
            f"found {found[0].splitlines()[0]!r}{more}. {_DAMAGED_NEXT}"
        )


_DAMAGED_NEXT = (
    "Restore it from a backup and run `crmerp state rebaseline`, or move it away and "
    "start a new one with `crmerp init --rebaseline`: the next sync re-reads both "
    "systems and links records again by the references stamped on them"
)


def _check_version(conn: Any, tables: set[str]) -> None:
    if meta.name not in tables:
        raise StateCorrupt("state has crmerp tables but no crmerp_meta: damaged or foreign")
    rows = {r[0]: r[1] for r in conn.execute(select(meta.c.key, meta.c.value))}
    if "schema_version" not in rows:
        raise StateCorrupt("state has no schema_version: damaged")
    version = int(rows["schema_version"])
    if version > SCHEMA_VERSION:
        raise StateVersionError(
            f"state schema version {version} is newer than this crmerp knows "
            f"({SCHEMA_VERSION}); upgrade crmerp"
        )
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))
    missing = set(metadata.tables) - set(inspect(conn).get_table_names())
    if missing:
        raise StateCorrupt(f"state tables missing: {', '.join(sorted(missing))}")


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
    return url


def sidecar_path(url: str) -> Path | None:
    """Where a SQLite state keeps its generation marker (detects restored backups)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        return None
    return Path(os.fspath(path) + ".generation")
