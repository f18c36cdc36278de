"""Values between Python and a SQL column: keys, stamps, cursors, written values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from crmerp._errors import AdapterError, DataError
from crmerp.adapters._mapping import parse_datetime

__all__ = ["decode_cursor", "encode_cursor", "key_of", "stamp_in", "stamp_out", "to_column"]


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        kind: type = column.type.python_type
    except NotImplementedError:
        return None
    return kind


def key_of(column: sa.Column[Any], native_id: str) -> Any:
    """A native id string as the id column holds it; ``None`` when it cannot be one."""
    if _python_type(column) is int:
        text = native_id.strip()
        return int(text) if text.isdigit() else None
    return native_id


def stamp_out(value: Any) -> datetime | None:
    """A stamp as read from the database, as an aware UTC datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp_in(column: sa.Column[Any], moment: datetime) -> datetime:
    """An aware stamp as the column takes it: naive UTC unless it keeps a zone."""
    moment = moment.astimezone(UTC)
    if getattr(column.type, "timezone", False):
        return moment
    return moment.replace(tzinfo=None)


def encode_cursor(stamp: datetime | None, key: Any) -> str:
    """The opaque cursor after the record with this stamp and id."""
    return json.dumps([stamp.isoformat() if stamp else None, key])


def decode_cursor(cursor: str) -> tuple[datetime | None, Any]:
    """The stamp and id a cursor made by :func:`encode_cursor` holds."""
    try:
        stamp, key = json.loads(cursor)
        return (datetime.fromisoformat(stamp) if stamp else None), key
    except (ValueError, TypeError) as exc:
        raise AdapterError(f"not a cursor of the SQL adapter: {cursor!r} ({exc})") from None


def to_column(column: sa.Column[Any], value: Any) -> Any:
    """A payload value as the column takes it (decimal text to Decimal, ISO text to dates).

    Raises :class:`~crmerp.DataError` naming the column when it cannot be.
    """
    kind = _python_type(column)
    if value is None or kind is None or isinstance(value, kind):
        if kind is Decimal and isinstance(value, float):
            raise DataError(f"{column.name}: a float is not exact", field=column.name)
        return value
    try:
        if kind is Decimal:
            return Decimal(str(value))
        if kind is datetime:
            return parse_datetime(value)
        if kind is date and isinstance(value, str):
            return date.fromisoformat(value)
        if kind is int and isinstance(value, str):
            return int(value)
    except (ValueError, InvalidOperation) as exc:
        raise DataError(f"{column.name}: {value!r} ({exc})", field=column.name) from None
    return value
