"""Writing one op to a SQL entity inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crmerp._errors import AdapterError, DataError
from crmerp.adapters._records import WriteKind, WriteOp, WriteResult
from crmerp.adapters.sql._rows import EntityTables
from crmerp.adapters.sql._values import key_of, stamp_in, stamp_out, to_column

__all__ = ["write_one"]


def write_one(
    conn: sa.Connection, tables: EntityTables, op: WriteOp, next_stamp: Callable[[], datetime]
) -> WriteResult:
    """Apply ``op``; the answer for it. Bad payloads fail, missing records fail (a
    missing record's delete is done: it is not there). An op answered other than
    done has written nothing, so a batch can share one transaction."""
    if op.kind is WriteKind.DELETE:
        return _delete(conn, tables, op, next_stamp)
    try:
        header, children = _split(tables, op.payload or {})
    except DataError as exc:
        return WriteResult.failed(str(exc))
    if not header and not children:
        return WriteResult.failed("the payload is empty")
    if op.kind is WriteKind.CREATE:
        return _create(conn, tables, op, header, children, next_stamp)
    return _update(conn, tables, op, header, children, next_stamp)


def _split(
    tables: EntityTables, payload: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    spec = tables.spec
    header: dict[str, Any] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for key, value in payload.items():
        if key in tables.children:
            children[key] = _child_rows(tables, key, value)
        elif key in tables.table.c and key not in spec.system_columns:
            header[key] = to_column(tables.table.c[key], value)
        else:
            raise DataError(f"{spec.table} has no column {key!r}", field=key)
    return header, children


def _child_rows(tables: EntityTables, name: str, value: Any) -> list[dict[str, Any]]:
    table = tables.children[name]
    spec = tables.spec.children[name]
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
        raise DataError(f"{name} must be a list of rows", field=name)
    rows = []
    for item in value:
        row = {}
        for key, cell in item.items():
            if key not in table.c or key in (spec.parent_column, spec.id_column):
                raise DataError(f"{spec.table} has no column {key!r}", field=f"{name}.{key}")
            row[key] = to_column(table.c[key], cell)
        rows.append(row)
    return rows


def _current(conn: sa.Connection, tables: EntityTables, key: Any) -> sa.RowMapping | None:
    if key is None:
        return None
    query = sa.select(tables.table).where(tables.key == key, tables.live())
    row = conn.execute(query).first()
    return row._mapping if row is not None else None


def _stamped(tables: EntityTables, values: dict[str, Any], moment: datetime) -> dict[str, Any]:
    if tables.stamp is not None:
        values[tables.stamp.name] = stamp_in(tables.stamp, moment)
    return values


def _create(
    conn: sa.Connection,
    tables: EntityTables,
    op: WriteOp,
    header: dict[str, Any],
    children: dict[str, list[dict[str, Any]]],
    next_stamp: Callable[[], datetime],
) -> WriteResult:
    reference = tables.reference
    if reference is not None:
        query = sa.select(tables.key).where(reference == op.reference, tables.live())
        existing = conn.execute(query).scalar()
        if existing is not None:
            again = WriteOp(WriteKind.UPDATE, op.reference, op.payload, str(existing))
            return _update(conn, tables, again, header, children, next_stamp)
        header[reference.name] = op.reference
    if tables.deleted is not None:
        header[tables.deleted.name] = False
    inserted = conn.execute(sa.insert(tables.table).values(_stamped(tables, header, next_stamp())))
    key = inserted.inserted_primary_key[0] if inserted.inserted_primary_key else None
    if key is None:
        raise AdapterError(f"{tables.spec.table} gave no id for the new row")
    _replace_children(conn, tables, key, children)
    return WriteResult.done(str(key))


def _update(
    conn: sa.Connection,
    tables: EntityTables,
    op: WriteOp,
    header: dict[str, Any],
    children: dict[str, list[dict[str, Any]]],
    next_stamp: Callable[[], datetime],
) -> WriteResult:
    key = key_of(tables.key, op.native_id or "")
    current = _current(conn, tables, key)
    if current is None:
        return WriteResult.failed(f"no {tables.spec.entity} with id {op.native_id!r}")
    stale = _stale(tables, current, op)
    if stale:
        return WriteResult.stale(stale)
    conn.execute(
        sa.update(tables.table)
        .where(tables.key == key)
        .values(_stamped(tables, header, next_stamp()))
    )
    _replace_children(conn, tables, key, children)
    return WriteResult.done(str(key))


def _stale(tables: EntityTables, current: sa.RowMapping, op: WriteOp) -> str:
    if op.expected_version is None or tables.stamp is None:
        return ""
    stamp = stamp_out(current[tables.stamp.name])
    version = stamp.isoformat() if stamp else None
    if version == op.expected_version:
        return ""
    return f"the record is at version {version}, not {op.expected_version}"


def _delete(
    conn: sa.Connection, tables: EntityTables, op: WriteOp, next_stamp: Callable[[], datetime]
) -> WriteResult:
    key = key_of(tables.key, op.native_id or "")
    current = _current(conn, tables, key)
    if not op.native_id:
        return WriteResult.failed("a delete needs the record's id")
    if current is None:
        return WriteResult.done(op.native_id)
    stale = _stale(tables, current, op)
    if stale:
        return WriteResult.stale(stale)
    if tables.deleted is not None:
        values = _stamped(tables, {tables.deleted.name: True}, next_stamp())
        conn.execute(sa.update(tables.table).where(tables.key == key).values(values))
    else:
        _replace_children(conn, tables, key, {name: [] for name in tables.children})
        conn.execute(sa.delete(tables.table).where(tables.key == key))
    return WriteResult.done(str(key))


def _replace_children(
    conn: sa.Connection,
    tables: EntityTables,
    key: Any,
    children: Mapping[str, list[dict[str, Any]]],
) -> None:
    for name, rows in children.items():
        table = tables.children[name]
        parent = tables.spec.children[name].parent_column
        conn.execute(sa.delete(table).where(table.c[parent] == key))
        if rows:
            conn.execute(sa.insert(table), [{**row, parent: key} for row in rows])
