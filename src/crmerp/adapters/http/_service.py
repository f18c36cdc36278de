"""One HTTP service an adapter talks to: requests sent, answers decoded, errors mapped."""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from crmerp.adapters.http._errors import HTTPProtocolError, HTTPTransportError, error_for

__all__ = ["HTTPService", "decode_json", "encode_json"]


def encode_json(body: Any) -> bytes:
    """A request body as JSON bytes: decimals and UUIDs as strings, dates in ISO form."""
    return json.dumps(body, default=_encode_default).encode()


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def decode_json(response: httpx.Response) -> Any:
    """An answer's body: JSON with numbers as ``Decimal`` (money stays exact), ``None``
    if empty, the text if it is not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return response.text


class HTTPService:
    """A JSON-over-HTTP service, through an :class:`httpx.Client` you give it.

    Give the client its base URL, headers (authentication) and timeout; tests give
    it an :class:`httpx.MockTransport`. :meth:`call` sends one request and returns
    the decoded body, or raises: :class:`HTTPTransportError` (retryable) when no
    answer came, :class:`HTTPProtocolError` for a 2xx that is not JSON, and for a
    non-2xx answer the :class:`HTTPStatusError` its status calls for (see
    :func:`error_for`). Every error names ``system``.

    >>> service = HTTPService(
    ...     httpx.Client(
    ...         base_url="https://crm.example",
    ...         transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": 1})),
    ...     ),
    ...     system="example",
    ... )
    >>> service.call("GET", "/ping")
    {'ok': 1}
    """

    def __init__(self, client: httpx.Client, *, system: str) -> None:
        self.client = client
        self.system = system

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this service, for messages."""
        return str(self.client.base_url.join(path))

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON body (``None`` if empty)."""
        response = self.send(method, path, params=params, json_body=json_body, headers=headers)
        body = decode_json(response)
        if response.is_success:
            if isinstance(body, str):
                raise HTTPProtocolError(
                    f"{method} {self.url(path)}: expected JSON, got "
                    f"{response.headers.get('content-type')!r}",
                    method=method,
                    url=self.url(path),
                    status_code=response.status_code,
                    body=body,
                    system=self.system,
                )
            return body
        raise error_for(method, self.url(path), response, body, system=self.system)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; the raw answer, whatever its status. Transport failures
        raise :class:`HTTPTransportError`."""
        sent = dict(headers or {})
        content = None
        if json_body is not None:
            content = encode_json(json_body)
            sent["Content-Type"] = "application/json"
        try:
            return self.client.request(
                method, path, params=dict(params) if params else None, content=content, headers=sent
            )
        except httpx.HTTPError as exc:
            raise HTTPTransportError(
                f"{method} {self.url(path)}: {type(exc).__name__}: {exc}",
                method=method,
                url=self.url(path),
                system=self.system,
            ) from exc

    def close(self) -> None:
        """Close the client's connection pool."""
        self.client.close()
