"""Save a fake system's store as JSON, exactly, and atomically."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmerp._errors import StateCorrupt

__all__ = ["dump_json", "load_json"]


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "$decimal":
            return Decimal(text)
        if tag == "$datetime":
            return datetime.fromisoformat(text)
        if tag == "$date":
            return date.fromisoformat(text)
    return value


def dump_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    Decimals, dates and datetimes are tagged so they load back exactly.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(_encode(data), out, ensure_ascii=False, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_json(path: str | os.PathLike[str]) -> Any:
    """Read what :func:`dump_json` wrote; a damaged file raises :class:`~crmerp.StateCorrupt`."""
    try:
        with open(path, encoding="utf-8") as source:
            return json.load(source, object_hook=_decode)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise StateCorrupt(f"fake system file {os.fspath(path)!r} cannot be read: {exc}") from None
