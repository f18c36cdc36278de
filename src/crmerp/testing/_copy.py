"""Copies of the JSON-like values the fake systems hold."""

from __future__ import annotations

import copy
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = ["copy_value"]

_IMMUTABLE = (str, int, float, bool, Decimal, datetime, date, time, type(None))


def copy_value(value: Any) -> Any:
    """A deep copy of ``value``: dicts, lists and tuples copied level by level, the
    immutable scalars a record holds shared, anything else through ``copy.deepcopy``.

    Several times faster than ``copy.deepcopy`` on records, which matters when a
    benchmark pushes a hundred thousand of them through a fake.
    """
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is dict:
        return {k: v if isinstance(v, _IMMUTABLE) else copy_value(v) for k, v in value.items()}
    if type(value) is list:
        return [v if isinstance(v, _IMMUTABLE) else copy_value(v) for v in value]
    if type(value) is tuple:
        return tuple(copy_value(v) for v in value)
    return copy.deepcopy(value)
