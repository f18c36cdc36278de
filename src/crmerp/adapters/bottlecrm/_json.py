"""Checking that an answer of the BottleCRM API has the shape the client expects
(the shared HTTP layer, :mod:`crmerp.adapters.http`, encodes and decodes).

A shape that does not match raises :class:`BottleCRMProtocolError`.
"""

from __future__ import annotations

from typing import Any, cast

from crmerp.adapters.bottlecrm._errors import BottleCRMProtocolError
from crmerp.adapters.bottlecrm._records import JSONObject

__all__ = ["as_int", "as_list", "as_object", "counted_list"]


def counted_list(outer: JSONObject, key: str, *, url: str) -> tuple[list[JSONObject], int]:
    """The list under ``key`` and its count under ``<key>_count``."""
    items = as_list(outer.get(key), what=f"'{key}'", method="GET", url=url)
    count_key = f"{key}_count"
    return items, as_int(outer.get(count_key), what=f"'{count_key}'", method="GET", url=url)


def as_object(value: Any, *, what: str, method: str, url: str) -> JSONObject:
    """``value`` if it is a JSON object; ``what`` names it in the error."""
    if not isinstance(value, dict):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be a JSON object, got {type(value).__name__}",
            method=method,
            url=url,
            body=value,
        )
    return cast(JSONObject, value)


def as_list(value: Any, *, what: str, method: str, url: str) -> list[JSONObject]:
    """``value`` if it is a list of JSON objects."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be a list of objects",
            method=method,
            url=url,
            body=value,
        )
    return cast(list[JSONObject], value)


def as_int(value: Any, *, what: str, method: str, url: str) -> int:
    """``value`` if it is an integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BottleCRMProtocolError(
            f"{method} {url}: expected {what} to be an integer", method=method, url=url, body=value
        )
    return value
