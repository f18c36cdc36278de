"""The HTTP layer adapters share: an injected :class:`httpx.Client`, answers decoded
once (money exact), HTTP and transport errors mapped once into crmerp's error tree,
``Retry-After`` parsed once.

An adapter for a JSON API holds an :class:`HTTPService` and calls it; its errors
already say what the engine should do (retry, wait, quarantine, stop)::

    service = HTTPService(httpx.Client(base_url=url, headers={"Authorization": token}),
                          system="notebook")
    customers = service.call("GET", "/customers", params={"after": cursor})
"""

from crmerp.adapters.http._errors import (
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
    error_for,
    retry_after,
)
from crmerp.adapters.http._service import HTTPService, decode_json, encode_json

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "HTTPAuthError",
    "HTTPConflict",
    "HTTPError",
    "HTTPNotFound",
    "HTTPProtocolError",
    "HTTPRateLimited",
    "HTTPServerError",
    "HTTPService",
    "HTTPStatusError",
    "HTTPTransportError",
    "HTTPUnavailable",
    "HTTPValidationError",
    "decode_json",
    "encode_json",
    "error_for",
    "retry_after",
]
