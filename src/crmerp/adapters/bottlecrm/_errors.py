"""The errors of the BottleCRM client, and which answer raises which.

Every error carries the method, URL, status code and decoded body that caused it,
and is also a member of crmerp's error tree, so the engine knows what to do with
it without knowing this client:

  BottleCRMError (CrmErpError)
  ├── BottleCRMTransportError      + TransientError   no answer: retry later
  ├── BottleCRMProtocolError       + AdapterError     a 2xx of an unexpected shape
  └── BottleCRMHTTPError                              any other non-2xx answer
      ├── BottleCRMValidationError + DataError        400: the record was refused
      ├── BottleCRMNotFound        + DataError        404
      ├── BottleCRMConflict        + DataError        409: e.g. still referenced
      ├── BottleCRMAuthError       + FatalError       401/403: fix the token
      ├── BottleCRMRateLimited     + RateLimited      429: wait ``retry_after``
      └── BottleCRMServerError                        5xx
          └── BottleCRMUnavailableError + TransientError   502/503/504

There is no throttling on the authenticated endpoints in 1.35.0, but a 429 (a
proxy, or a future release) raises :class:`BottleCRMRateLimited`.
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
    "BottleCRMAuthError",
    "BottleCRMConflict",
    "BottleCRMError",
    "BottleCRMHTTPError",
    "BottleCRMNotFound",
    "BottleCRMProtocolError",
    "BottleCRMRateLimited",
    "BottleCRMServerError",
    "BottleCRMTransportError",
    "BottleCRMUnavailableError",
    "BottleCRMValidationError",
    "http_error",
]

#: Seconds to wait after a 429 that carries no ``Retry-After``.
DEFAULT_RETRY_AFTER = 5.0


class BottleCRMError(CrmErpError):
    """Base of every error this client raises.

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
    ) -> None:
        # Not super().__init__: the crmerp mixins below take other arguments.
        Exception.__init__(self, message)
        self.message = message
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return self.message


class BottleCRMTransportError(BottleCRMError, TransientError):
    """The request did not get an HTTP answer (connection refused, timeout, ...)."""


class BottleCRMProtocolError(BottleCRMError, AdapterError):
    """A 2xx answer that is not the JSON shape this client expects."""


class BottleCRMHTTPError(BottleCRMError):
    """A non-2xx answer. ``status_code`` and ``body`` are always set."""

    status_code: int

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: Any) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)

    @property
    def errors(self) -> Any:
        """The ``errors`` (or ``detail``/``message``) member of the body, if any."""
        if isinstance(self.body, dict):
            for key in ("errors", "detail", "message"):
                if key in self.body:
                    return self.body[key]
        return self.body


class _DataHTTPError(BottleCRMHTTPError, DataError):
    """A refusal about the record itself: crmerp quarantines it and goes on."""

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: Any) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)
        self.entity = None
        self.field = None
        self.value = None
        self.system = "bottlecrm"
        self.native_id = None
        self.reason = message


class BottleCRMValidationError(_DataHTTPError):
    """400: the payload was refused, ``errors`` maps field names to messages.

    Duplicate names (accounts, case-insensitive per org) and duplicate emails
    (contacts, case-insensitive per org) arrive here too.
    """


class BottleCRMAuthError(BottleCRMHTTPError, FatalError):
    """401 or 403: bad/revoked token, a scope that does not cover the call, or a
    role that may not do it. BottleCRM answers an unknown token with 403
    ``Organization context is required``, not 401."""


class BottleCRMNotFound(_DataHTTPError):
    """404: no such record, or one the token's profile may not open."""


class BottleCRMConflict(_DataHTTPError):
    """409: e.g. an account that still has invoices, estimates or projects."""


class BottleCRMRateLimited(BottleCRMHTTPError, RateLimited):
    """429: wait ``retry_after`` seconds (:data:`DEFAULT_RETRY_AFTER` when the
    server did not say)."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any,
        retry_after: float | None,
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code, body=body)
        self.retry_after = DEFAULT_RETRY_AFTER if retry_after is None else retry_after


class BottleCRMServerError(BottleCRMHTTPError):
    """5xx: the server failed. 500 is usually a bug on the server (for example a
    ``cf_`` filter on SQLite) and is not retried; see :class:`BottleCRMUnavailableError`."""


class BottleCRMUnavailableError(BottleCRMServerError, TransientError):
    """502, 503 or 504: a proxy or the server is briefly unavailable; retry later."""


_ERROR_BY_STATUS: dict[int, type[BottleCRMHTTPError]] = {
    400: BottleCRMValidationError,
    401: BottleCRMAuthError,
    403: BottleCRMAuthError,
    404: BottleCRMNotFound,
    409: BottleCRMConflict,
    502: BottleCRMUnavailableError,
    503: BottleCRMUnavailableError,
    504: BottleCRMUnavailableError,
}


def http_error(method: str, url: str, response: httpx.Response, body: Any) -> BottleCRMHTTPError:
    """The error for a non-2xx ``response`` whose decoded body is ``body``."""
    code = response.status_code
    detail = body if isinstance(body, dict | list) else str(body)[:500]
    message = f"{method} {url} -> HTTP {code}: {detail}"
    if code == 429:
        return BottleCRMRateLimited(
            message,
            method=method,
            url=url,
            status_code=code,
            body=body,
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
        )
    error_class = _ERROR_BY_STATUS.get(code)
    if error_class is None:
        error_class = BottleCRMServerError if code >= 500 else BottleCRMHTTPError
    return error_class(message, method=method, url=url, status_code=code, body=body)


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
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
    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())
