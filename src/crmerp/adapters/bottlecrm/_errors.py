"""The errors of the BottleCRM client: the shared HTTP layer's, under BottleCRM names.

They are the classes of :mod:`crmerp.adapters.http` (one error tree for every HTTP
adapter, each a member of crmerp's tree too); the names stay for code that
catches them::

  BottleCRMError                = HTTPError
  ├── BottleCRMTransportError   = HTTPTransportError   no answer: retry later
  ├── BottleCRMProtocolError    = HTTPProtocolError    a 2xx of an unexpected shape
  └── BottleCRMHTTPError        = HTTPStatusError      any other non-2xx answer
      ├── BottleCRMValidationError = HTTPValidationError  400: the record was refused
      ├── BottleCRMNotFound     = HTTPNotFound          404
      ├── BottleCRMConflict     = HTTPConflict          409: e.g. still referenced
      ├── BottleCRMAuthError    = HTTPAuthError         401/403: fix the token
      ├── BottleCRMRateLimited  = HTTPRateLimited       429: wait ``retry_after``
      └── BottleCRMServerError  = HTTPServerError       5xx
          └── BottleCRMUnavailableError = HTTPUnavailable   502/503/504

There is no throttling on the authenticated endpoints in 1.35.0, but a 429 (a
proxy, or a future release) raises :class:`BottleCRMRateLimited`. BottleCRM
answers an unknown token with 403 ``Organization context is required``, not 401.
"""

from __future__ import annotations

from crmerp.adapters.http import (
    DEFAULT_RETRY_AFTER,
    HTTPAuthError,
    HTTPConflict,
    HTTPError,
    HTTPNotFound,
    HTTPProtocolError,
    HTTPRateLimited,
    HTTPServerError,
    HTTPStatusError,
    HTTPTransportError,
    HTTPUnavailable,
    HTTPValidationError,
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
]

BottleCRMError = HTTPError
BottleCRMTransportError = HTTPTransportError
BottleCRMProtocolError = HTTPProtocolError
BottleCRMHTTPError = HTTPStatusError
BottleCRMValidationError = HTTPValidationError
BottleCRMNotFound = HTTPNotFound
BottleCRMConflict = HTTPConflict
BottleCRMAuthError = HTTPAuthError
BottleCRMRateLimited = HTTPRateLimited
BottleCRMServerError = HTTPServerError
BottleCRMUnavailableError = HTTPUnavailable
