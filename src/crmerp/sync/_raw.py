"""Raw hashes: a content hash of a native payload as read, before any validation.

A record whose raw hash equals the one stored with its link is the very payload
the engine last read and translated, so reading it again cannot change anything:
the pull stops there instead of validating it. The hash covers the whole payload
(every key, nested or not), the deleted flag and the stamped reference, and is
salted with what shapes the translation (crmerp's version, the adapter's class,
the entity and the fields the side carries), so an upgrade or a change of what
is carried reads every record again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

from crmerp.adapters import NativeRecord

__all__ = ["raw_hash", "raw_salt"]

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def raw_salt(adapter: object, entity: str, carried: Iterable[str]) -> bytes:
    """What the hashes of one side's entity are salted with."""
    from crmerp import __version__

    kind = type(adapter)
    parts = [__version__, f"{kind.__module__}.{kind.__qualname__}", entity, *sorted(carried)]
    return "\x1f".join(parts).encode() + b"\x1e"


def raw_hash(record: NativeRecord, salt: bytes) -> str | None:
    """The raw hash of ``record``, or None for a payload that cannot be written out
    unambiguously (such a record is always validated, never skipped)."""
    body = _serialise(record.payload)
    if body is None:
        return None
    head = f"{int(record.deleted)}\x1f{record.reference or ''}\x1e".encode()
    return hashlib.blake2b(salt + head + body, digest_size=16).hexdigest()


def _serialise(payload: Any) -> bytes | None:
    try:
        return orjson.dumps(payload, default=_tagged, option=_OPTIONS)
    except TypeError:
        pass  # integers beyond 64 bits, keys of mixed types, lone surrogates
    try:
        text = json.dumps(payload, default=_tagged, sort_keys=True, ensure_ascii=True)
    except (TypeError, ValueError):
        return None
    return b"\x00json" + text.encode()


def _tagged(value: Any) -> list[str]:
    """Values JSON has no type for, written with their type so that, say, the
    Decimal 1.5 and the text "1.5" (or a naive and an aware time) hash apart."""
    if isinstance(value, datetime | date | time):
        return [f"\x00{type(value).__qualname__}", value.isoformat()]
    if isinstance(value, Decimal):
        return ["\x00Decimal", str(value)]
    if isinstance(value, str | int | float):  # subclasses (str enums and the like)
        return [f"\x00{type(value).__qualname__}", str(value)]
    kind = type(value)
    text = repr(value)
    if " at 0x" in text:
        # A repr naming an address says nothing about the content: refuse it.
        raise TypeError(f"cannot hash {kind.__qualname__}")
    return [f"\x00{kind.__module__}.{kind.__qualname__}", text]
