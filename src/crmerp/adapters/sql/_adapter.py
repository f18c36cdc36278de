"""The SQL table adapter: any SQLAlchemy database as a system crmerp syncs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crmerp._errors import TransientError, UsageError
from crmerp.adapters._base import Adapter
from crmerp.adapters._records import Capabilities, NativeRecord, Page, WriteOp, WriteResult
from crmerp.adapters.sql._config import entities_from_settings
from crmerp.adapters.sql._rows import EntityTables
from crmerp.adapters.sql._tables import SQLEntity
from crmerp.adapters.sql._values import decode_cursor, encode_cursor, key_of, stamp_in
from crmerp.adapters.sql._writes import write_one

__all__ = ["SQLAdapter"]

_TICK = timedelta(microseconds=1)


class SQLAdapter(Adapter):
    """Entities kept in tables of a SQL database (SQLite, PostgreSQL, MariaDB...).

    ``url`` is a SQLAlchemy URL (``sqlite:///erp.db``,
    ``postgresql+psycopg://user@host/db``, ``mysql+pymysql://user@host/db``), or
    pass an ``engine``. ``entities`` declares each entity's table (a list of
    :class:`SQLEntity`, or in ``crmerp.toml`` a table per entity, see the adapter
    guide). The tables must exist; the adapter reflects them when it starts.

    ``lag`` (seconds) holds back records stamped in the last ``lag`` seconds:
    a write whose transaction commits later than its stamp says is then still
    read, as long as it commits within the lag. ``clock`` gives "now" (aware
    UTC), for the stamps the adapter writes and the lag.
    """

    system = "sql"

    def __init__(
        self,
        url: str | None = None,
        *,
        entities: Sequence[SQLEntity] | Mapping[str, Mapping[str, Any]],
        engine: sa.Engine | None = None,
        lag: float = 0.0,
        page_size: int = 500,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if (url is None) == (engine is None):
            raise UsageError("SQLAdapter needs exactly one of url= or engine=", code="sql-url")
        specs = entities_from_settings(entities) if isinstance(entities, Mapping) else entities
        self.engine = engine if engine is not None else sa.create_engine(url or "")
        self._owns_engine = engine is None
        self.lag = timedelta(seconds=lag)
        self.page_size = page_size
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp = datetime.min.replace(tzinfo=UTC)
        try:
            self.tables = self._reflect(specs)
        except BaseException:
            self.close()
            raise
        mappings = {name: t.spec.mapping for name, t in self.tables.items()}
        setattr(self, "mappings", mappings)  # noqa: B010 - per instance, not per class

    def _reflect(self, specs: Iterable[SQLEntity]) -> dict[str, EntityTables]:
        specs = list(specs)
        names = {s.table for s in specs} | {c.table for s in specs for c in s.children.values()}
        metadata = sa.MetaData()
        try:
            metadata.reflect(self.engine, only=lambda name, _meta: name in names)
        except sa.exc.OperationalError as exc:
            raise TransientError(f"cannot reach the database: {exc.orig}") from None
        return {s.entity: EntityTables.reflect(s, metadata) for s in specs}

    # --- the contract ------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        """Every declared entity, read and written; deletes reported where a deleted
        flag is declared; a change feed and conditional writes where a stamp is."""
        names = frozenset(self.tables)
        specs = [t.spec for t in self.tables.values()]
        return Capabilities(
            readable=names,
            writable=names,
            reports_deletes=bool(specs) and all(s.deleted_column for s in specs),
            change_feed=bool(specs) and all(s.stamp_column for s in specs),
            upsert_by_reference=bool(specs) and all(s.reference_column for s in specs),
            page_size=self.page_size,
            conditional_writes=bool(specs) and all(s.stamp_column for s in specs),
        )

    def instance(self) -> str:
        """The database URL, without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        """Records after ``cursor`` by (stamp, id); by id alone, in full, without a stamp."""
        tables = self._tables(entity)
        query = sa.select(tables.table)
        stamp = tables.stamp
        after_stamp, after_key = decode_cursor(cursor) if cursor else (None, None)
        if stamp is not None:
            if self.lag:
                query = query.where(stamp <= stamp_in(stamp, self.clock() - self.lag))
            if after_stamp is not None:
                at = stamp_in(stamp, after_stamp)
                query = query.where(
                    sa.or_(stamp > at, sa.and_(stamp == at, tables.key > after_key))
                )
            query = query.order_by(stamp, tables.key)
        else:
            query = query.where(tables.live())
            if after_key is not None:
                query = query.where(tables.key > after_key)
            query = query.order_by(tables.key)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.limit(limit + 1)))
            records = tables.records(conn, rows[:limit])
        if not records:
            return Page([], cursor, more=False)
        last = rows[: len(records)][-1]._mapping
        next_cursor = encode_cursor(records[-1].stamp, last[tables.spec.id_column])
        return Page(records, next_cursor, more=len(rows) > limit)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The live records with these ids."""
        tables = self._tables(entity)
        keys = [k for k in (key_of(tables.key, i) for i in ids) if k is not None]
        if not keys:
            return []
        query = sa.select(tables.table).where(tables.key.in_(keys), tables.live())
        with self.engine.connect() as conn:
            return tables.records(conn, list(conn.execute(query.order_by(tables.key))))

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """Live records carrying these references; none without a reference column."""
        tables = self._tables(entity)
        column = tables.reference
        if column is None or not references:
            return {}
        query = sa.select(tables.table).where(column.in_(list(references)), tables.live())
        with self.engine.connect() as conn:
            found = tables.records(conn, list(conn.execute(query)))
        return {r.reference: r for r in found if r.reference}

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """The batch in one transaction; if the database refuses any op of it, each op
        again in its own, so a refused op changes nothing and sinks nothing else."""
        tables = self._tables(entity)
        try:
            with self.engine.begin() as conn:
                return [write_one(conn, tables, op, self._next_stamp) for op in ops]
        except sa.exc.StatementError:
            return [self._write_alone(tables, op) for op in ops]

    def _write_alone(self, tables: EntityTables, op: WriteOp) -> WriteResult:
        try:
            with self.engine.begin() as conn:
                return write_one(conn, tables, op, self._next_stamp)
        except (sa.exc.IntegrityError, sa.exc.DataError, sa.exc.ProgrammingError) as exc:
            return WriteResult.failed(f"refused by the database: {exc.orig}")
        except sa.exc.StatementError as exc:
            if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
                return WriteResult.retry(f"the connection was lost: {exc.orig}")
            if isinstance(exc, sa.exc.OperationalError):
                return WriteResult.retry(f"the database could not apply it now: {exc.orig}")
            return WriteResult.failed(f"refused: {exc}")

    def close(self) -> None:
        """Dispose of the connection pool the adapter made."""
        if self._owns_engine:
            self.engine.dispose()

    # --- helpers -----------------------------------------------------------------------

    def _tables(self, entity: str) -> EntityTables:
        try:
            return self.tables[entity]
        except KeyError:
            raise UsageError(
                f"the SQL adapter declares no entity {entity!r}", code="sql-entity"
            ) from None

    def _next_stamp(self) -> datetime:
        """Now, to the microsecond, and after every stamp this adapter wrote before."""
        now = self.clock().astimezone(UTC)
        now = max(now, self._last_stamp + _TICK)
        self._last_stamp = now
        return now
