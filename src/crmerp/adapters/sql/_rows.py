"""Reading records of one SQL entity: rows, their child rows, as native records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from crmerp._errors import UsageError
from crmerp.adapters._records import NativeRecord
from crmerp.adapters.sql._tables import SQLEntity
from crmerp.adapters.sql._values import stamp_out

__all__ = ["EntityTables"]


def _column(table: sa.Table, name: str, what: str) -> sa.Column[Any]:
    if name not in table.c:
        raise UsageError(
            f"table {table.name!r} has no {what} column {name!r}; it has "
            f"{', '.join(table.c.keys())}",
            code="sql-column",
        )
    return table.c[name]


@attrs.frozen
class EntityTables:
    """An entity's reflected tables and the reads over them."""

    spec: SQLEntity
    table: sa.Table
    children: Mapping[str, sa.Table]

    @classmethod
    def reflect(cls, spec: SQLEntity, metadata: sa.MetaData) -> EntityTables:
        """Check every named table and column exists, against reflected ``metadata``."""
        tables = {}
        for name in (spec.table, *(c.table for c in spec.children.values())):
            if name not in metadata.tables:
                raise UsageError(
                    f"{spec.entity}: no table {name!r} in the database", code="sql-table"
                )
            tables[name] = metadata.tables[name]
        table = tables[spec.table]
        named: tuple[tuple[str | None, str], ...] = (
            (spec.id_column, "id"),
            (spec.stamp_column, "stamp"),
            (spec.reference_column, "reference"),
            (spec.deleted_column, "deleted"),
        )
        for column, what in named:
            if column:
                _column(table, column, what)
        for child in spec.children.values():
            _column(tables[child.table], child.parent_column, "parent")
            _column(tables[child.table], child.id_column, "id")
        return cls(spec, table, {k: tables[c.table] for k, c in spec.children.items()})

    @property
    def key(self) -> sa.Column[Any]:
        """The id column."""
        return self.table.c[self.spec.id_column]

    @property
    def stamp(self) -> sa.Column[Any] | None:
        """The stamp column, if the entity has one."""
        name = self.spec.stamp_column
        return self.table.c[name] if name else None

    @property
    def reference(self) -> sa.Column[Any] | None:
        """The reference column, if the entity has one."""
        name = self.spec.reference_column
        return self.table.c[name] if name else None

    @property
    def deleted(self) -> sa.Column[Any] | None:
        """The deleted-flag column, if the entity has one."""
        name = self.spec.deleted_column
        return self.table.c[name] if name else None

    def live(self) -> sa.ColumnElement[bool]:
        """The condition of a row not marked deleted."""
        flag = self.deleted
        return sa.true() if flag is None else sa.or_(flag.is_(None), flag == sa.false())

    def records(self, conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[NativeRecord]:
        """Native records for ``rows`` of the entity table, child rows read in one query each."""
        keys = [row._mapping[self.spec.id_column] for row in rows]
        children = {name: self._children(conn, name, keys) for name in self.children}
        return [self._record(row._mapping, children) for row in rows]

    def _children(
        self, conn: sa.Connection, name: str, keys: Sequence[Any]
    ) -> dict[Any, list[dict[str, Any]]]:
        spec = self.spec.children[name]
        table = self.children[name]
        found: dict[Any, list[dict[str, Any]]] = {}
        if not keys:
            return found
        query = (
            sa.select(table)
            .where(table.c[spec.parent_column].in_(keys))
            .order_by(table.c[spec.parent_column], table.c[spec.id_column])
        )
        hidden = {spec.parent_column, spec.id_column}
        for row in conn.execute(query):
            values = row._mapping
            item = {k: v for k, v in values.items() if k not in hidden}
            found.setdefault(values[spec.parent_column], []).append(item)
        return found

    def _record(
        self, row: sa.RowMapping, children: Mapping[str, Mapping[Any, list[dict[str, Any]]]]
    ) -> NativeRecord:
        spec = self.spec
        key = row[spec.id_column]
        payload = {k: v for k, v in row.items() if k not in spec.system_columns}
        for name, by_parent in children.items():
            payload[name] = by_parent.get(key, [])
        stamp = stamp_out(row[spec.stamp_column]) if spec.stamp_column else None
        deleted = bool(row[spec.deleted_column]) if spec.deleted_column else False
        return NativeRecord(
            str(key),
            payload,
            stamp=stamp,
            deleted=deleted,
            reference=row[spec.reference_column] if spec.reference_column else None,
            version=stamp.isoformat() if stamp else None,
        )
