"""HTTP answers and transport failures as members of crmerp's error tree.

Each error carries the method, URL, status code and decoded body that caused it,
and the system it came from, and is also the crmerp error that says what to do::

  HTTPError (CrmErpError)
  ├── HTTPTransportError      + TransientError   no answer: retry later
  ├── HTTPProtocolError       + AdapterError     a 2xx of an unexpected shape
  └── HTTPStatusError                            any other non-2xx answer
      ├── HTTPValidationError + DataError        400, 422: the record was refused
      ├── HTTPNotFound        + DataError        404
      ├── HTTPConflict        + DataError        409: e.g. still referenced
      ├── HTTPAuthError       + FatalError       401/403: fix the credentials
      ├── HTTPRateLimited     + RateLimited      429 (or 503 with Retry-After)
      └── HTTPServerError                        5xx
          └── HTTPUnavailable + TransientError   502/503/504
"""

from __future__ import annotations

import datetime as _dt
import email.utils
from typing import Any

import httpx

from crmerp._errors import (
    AdapterError,
    CrmErpError,
    DataError,
    FatalError,
    RateLimited,
    TransientError,
)

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "HTTPAuthError",
    "HTTPConflict",
    "HTTPError",
    "HTTPNotFound",
    "HTTPProtocolError",
    "HTTPRateLimited",
    "HTTPServerError",
    "HTTPStatusError",
    "HTTPTransportError",
    "HTTPUnavailable",
    "HTTPValidationError",
    "error_for",
    "retry_after",
]

DEFAULT_RETRY_AFTER = 5.0
"""Seconds to wait after a 429 that carries no ``Retry-After``."""


class HTTPError(CrmErpError):
    """Base of every error the HTTP layer raises.

    ``status_code`` and ``body`` are ``None`` when no HTTP answer was received.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        body: Any = None,
        system: str | None = None,
    ) -> None:
        # Not super().__init__: the crmerp mixins below take other arguments.
        Exception.__init__(self, message)
        self.message = message
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body
        self.system = system

    def __str__(self) -> str:
        return self.message


class HTTPTransportError(HTTPError, TransientError):
    """The request got no HTTP answer (connection refused, timeout, ...)."""


class HTTPProtocolError(HTTPError, AdapterError):
    """A 2xx answer that is not the shape the client expects (not JSON, a member missing)."""


class HTTPStatusError(HTTPError):
    """A non-2xx answer. ``status_code`` and ``body`` are always set."""

    status_code: int

    @property
    def errors(self) -> Any:
        """The ``errors`` (or ``detail``/``message``) member of the body, if any."""
        if isinstance(self.body, dict):
            for key in ("errors", "detail", "message"):
                if key in self.body:
                    return self.body[key]
        return self.body


class _RefusedRecord(HTTPStatusError, DataError):
    """A refusal about the record itself: crmerp quarantines it and goes on."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.entity = None
        self.field = None
        self.value = None
        self.native_id = None
        self.reason = message


class HTTPValidationError(_RefusedRecord):
    """400 or 422: the payload was refused; ``errors`` says why."""


class HTTPNotFound(_RefusedRecord):
    """404: no such record, or one the credentials may not open."""


class HTTPConflict(_RefusedRecord):
    """409: the write conflicts with the record's state (still referenced, say)."""


class HTTPAuthError(HTTPStatusError, FatalError):
    """401 or 403: the credentials are wrong, revoked, or do not cover the call."""


class HTTPRateLimited(HTTPStatusError, RateLimited):
    """429 (or 503 with ``Retry-After``): wait ``retry_after`` seconds
    (:data:`DEFAULT_RETRY_AFTER` when the server did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = DEFAULT_RETRY_AFTER if retry_after is None else retry_after


class HTTPServerError(HTTPStatusError):
    """5xx: the server failed. A 500 is usually a bug there and is not retried."""


class HTTPUnavailable(HTTPServerError, TransientError):
    """502, 503 or 504: a proxy or the server is briefly unavailable; retry later."""


_BY_STATUS: dict[int, type[HTTPStatusError]] = {
    400: HTTPValidationError,
    401: HTTPAuthError,
    403: HTTPAuthError,
    404: HTTPNotFound,
    409: HTTPConflict,
    422: HTTPValidationError,
    502: HTTPUnavailable,
    503: HTTPUnavailable,
    504: HTTPUnavailable,
}


def error_for(
    method: str, url: str, response: httpx.Response, body: Any, *, system: str | None = None
) -> HTTPStatusError:
    """The error for a non-2xx ``response`` whose decoded body is ``body``."""
    code = response.status_code
    detail = body if isinstance(body, dict | list) else str(body)[:500]
    message = f"{method} {url} -> HTTP {code}: {detail}"
    context: dict[str, Any] = {
        "method": method,
        "url": url,
        "status_code": code,
        "body": body,
        "system": system,
    }
    wait = retry_after(response.headers.get("Retry-After"))
    if code == 429 or (code == 503 and wait is not None):
        return HTTPRateLimited(message, retry_after=wait, **context)
    kind = _BY_STATUS.get(code) or (HTTPServerError if code >= 500 else HTTPStatusError)
    return kind(message, **context)


def retry_after(value: str | None, *, now: _dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; ``None``
    when absent or unreadable, never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return max(0.0, (when - (now or _dt.datetime.now(_dt.UTC))).total_seconds())
