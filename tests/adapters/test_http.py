"""The shared HTTP layer: what each answer and failure becomes in crmerp's error tree."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from crmerp import AdapterError, DataError, FatalError, RateLimited, TransientError
from crmerp.adapters.http import (
    DEFAULT_RETRY_AFTER,
    HTTPAuthError,
    HTTPConflict,
    HTTPNotFound,
    HTTPProtocolError,
    HTTPServerError,
    HTTPService,
    HTTPTransportError,
    HTTPUnavailable,
    HTTPValidationError,
    retry_after,
)


def service(answer: httpx.Response | Exception) -> HTTPService:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = httpx.Client(base_url="https://api.example", transport=httpx.MockTransport(handle))
    return HTTPService(client, system="example")


@pytest.mark.parametrize(
    ("status", "kind", "family"),
    [
        (400, HTTPValidationError, DataError),
        (422, HTTPValidationError, DataError),
        (404, HTTPNotFound, DataError),
        (409, HTTPConflict, DataError),
        (401, HTTPAuthError, FatalError),
        (403, HTTPAuthError, FatalError),
        (502, HTTPUnavailable, TransientError),
        (503, HTTPUnavailable, TransientError),
        (504, HTTPUnavailable, TransientError),
        (500, HTTPServerError, HTTPServerError),
    ],
)
def test_each_status_is_the_error_that_says_what_to_do(
    status: int, kind: type[Exception], family: type[Exception]
) -> None:
    with pytest.raises(kind) as info:
        service(httpx.Response(status, json={"errors": {"name": "required"}})).call("GET", "/x")

    error = info.value
    assert isinstance(error, family)
    assert (error.method, error.url, error.status_code, error.system) == (  # type: ignore[attr-defined]
        "GET",
        "https://api.example/x",
        status,
        "example",
    )
    assert error.body == {"errors": {"name": "required"}}  # type: ignore[attr-defined]


def test_a_500_is_not_retried() -> None:
    with pytest.raises(HTTPServerError) as info:
        service(httpx.Response(500, text="boom")).call("GET", "/x")
    assert not isinstance(info.value, TransientError)


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, {"Retry-After": "12"}, 12.0),
        (429, {}, DEFAULT_RETRY_AFTER),
        (503, {"Retry-After": "3"}, 3.0),
    ],
)
def test_rate_limits_carry_the_wait_asked_for(
    status: int, header: dict[str, str], wait: float
) -> None:
    with pytest.raises(RateLimited) as info:
        service(httpx.Response(status, headers=header)).call("GET", "/x")
    assert info.value.retry_after == wait


def test_retry_after_reads_seconds_and_http_dates_never_negative() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after("Fri, 01 May 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after("Fri, 01 May 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after("-5") == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_no_answer_is_a_transient_error_naming_the_call() -> None:
    refused = httpx.ConnectError("connection refused")
    with pytest.raises(HTTPTransportError, match=r"GET https://api\.example/x: ConnectError"):
        service(refused).call("GET", "/x")
    assert issubclass(HTTPTransportError, TransientError)


def test_a_2xx_that_is_not_json_breaks_the_contract() -> None:
    with pytest.raises(HTTPProtocolError, match="expected JSON") as info:
        service(httpx.Response(200, text="<html>login</html>")).call("GET", "/x")
    assert isinstance(info.value, AdapterError)


def test_json_numbers_stay_exact_and_bodies_are_sent_as_json() -> None:
    seen: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, content=b'{"amount": 0.1}')

    client = httpx.Client(base_url="https://api.example", transport=httpx.MockTransport(handle))
    answer = HTTPService(client, system="example").call(
        "POST", "/x", json_body={"amount": Decimal("19.99")}
    )

    assert answer == {"amount": Decimal("0.1")}
    assert seen == [b'{"amount": "19.99"}']


def test_an_error_an_adapter_catches_becomes_the_answer_it_calls_for() -> None:
    from crmerp.adapters import WriteStatus, answer_for

    limited = answer_for(RateLimited("slow down", retry_after=4.0), "not sent: ")
    assert (limited.status, limited.retry_after, limited.reason) == (
        WriteStatus.RETRY,
        4.0,
        "not sent: slow down (retry after 4s)",
    )
    assert answer_for(TransientError("timeout")).status is WriteStatus.RETRY
    refused = answer_for(DataError("name is required"))
    assert refused.status is WriteStatus.FAILED
    assert "name is required" in refused.reason
