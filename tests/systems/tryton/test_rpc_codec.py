"""Offline tests of the Tryton JSON-RPC codec and error mapping (no server needed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

import crmerp
from crmerp.adapters.tryton._rpc import (
    DEFAULT_RETRY_AFTER,
    TrytonAuthError,
    TrytonConcurrencyError,
    TrytonHTTPError,
    TrytonRateLimited,
    TrytonRPC,
    TrytonServerFault,
    TrytonTransportError,
    TrytonUserError,
    TrytonUserWarning,
    dumps,
    loads,
)


def test_round_trip_of_tagged_types() -> None:
    aware = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    value = {
        "amount": Decimal("12.3400"),
        "when": aware,
        "day": dt.date(2026, 3, 1),
        "at": dt.time(8, 15),
        "span": dt.timedelta(hours=1, seconds=1),
        "blob": b"\x00\xffdata",
        "ids": (1, 2),
    }
    wire = json.loads(dumps(value))
    assert wire["amount"] == {"__class__": "Decimal", "decimal": "12.3400"}
    assert wire["when"]["hour"] == 10  # converted to UTC, sent naive
    assert wire["day"] == {"__class__": "date", "year": 2026, "month": 3, "day": 1}
    assert wire["span"] == {"__class__": "timedelta", "seconds": 3601.0}
    assert wire["ids"] == [1, 2]
    back = loads(dumps(value))
    assert back["amount"] == Decimal("12.3400")
    assert back["when"] == aware
    assert back["when"].tzinfo == dt.UTC
    assert back["day"] == dt.date(2026, 3, 1)
    assert back["at"] == dt.time(8, 15)
    assert back["span"] == dt.timedelta(hours=1, seconds=1)
    assert back["blob"] == b"\x00\xffdata"


def test_naive_datetime_is_taken_as_utc() -> None:
    naive = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert loads(dumps(naive)) == naive.replace(tzinfo=dt.UTC)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(TypeError):
        dumps(object())


class _FakeServer:
    """A tiny stand-in for trytond's dispatcher, answering from a script."""

    def __init__(self) -> None:
        self.sessions = {"tok-1"}
        self.calls: list[tuple[str, list[Any], str | None]] = []
        self.answers: dict[str, Any] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        method, params = body["method"], body["params"]
        auth = request.headers.get("Authorization")
        self.calls.append((method, params, auth))
        if method == "common.db.login":
            if params[1] != {"password": "pw"}:
                return httpx.Response(401)
            token = f"tok-{len(self.calls)}"
            self.sessions.add(token)
            return httpx.Response(200, json={"id": body["id"], "result": [7, token, None]})
        assert auth is not None
        assert auth.startswith("Session ")
        login, user, token = base64.b64decode(auth[8:]).decode().split(":")
        assert (login, user) == ("bob", "7")
        if token not in self.sessions:
            return httpx.Response(401)
        if method == "model.res.user.get_preferences":
            return httpx.Response(200, json={"id": body["id"], "result": {"company": 3}})
        answer = self.answers.get(method)
        if isinstance(answer, int):
            return httpx.Response(answer, headers={"Retry-After": "5"})
        if isinstance(answer, str):  # a status without Retry-After, e.g. "503"
            return httpx.Response(int(answer))
        return httpx.Response(200, json={"id": body["id"], **(answer or {"result": params})})


def _client(server: _FakeServer, password: str = "pw") -> TrytonRPC:
    http = httpx.Client(transport=httpx.MockTransport(server), base_url="http://tryton")
    return TrytonRPC("http://tryton/", "db", "bob", password, client=http)


def test_login_context_and_model_call() -> None:
    server = _FakeServer()
    rpc = _client(server)
    result = rpc.model("party.party", "read", [1], ["name"], context={"active_test": False})
    assert result == [[1], ["name"], {"company": 3, "active_test": False}]
    assert rpc.user_id == 7
    assert [c[0] for c in server.calls] == [
        "common.db.login",
        "model.res.user.get_preferences",
        "model.party.party.read",
    ]


def test_expired_session_logs_in_again_once() -> None:
    server = _FakeServer()
    rpc = _client(server)
    rpc.login()
    server.sessions.clear()  # the server forgot every session
    assert rpc.model("party.party", "search_count", []) == [[], {"company": 3}]
    assert [c[0] for c in server.calls].count("common.db.login") == 2


def test_bad_password() -> None:
    with pytest.raises(TrytonAuthError) as info:
        _client(_FakeServer(), password="nope").login()
    assert info.value.status_code == 401


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (["UserError", ["Bad value", "detail", [["name", "=", None]]]], TrytonUserError),
        (["UserWarning", ["warn-key", "Are you sure?", ""]], TrytonUserWarning),
        (["ConcurrencyException", "Records were modified"], TrytonConcurrencyError),
        (["LoginException", ["password", "Password", "password"]], TrytonAuthError),
        (["'phone'", ""], TrytonServerFault),
    ],
)
def test_error_member_mapping(error: Any, expected: type[Exception]) -> None:
    server = _FakeServer()
    server.answers["model.x.y"] = {"error": error}
    with pytest.raises(expected) as info:
        _client(server).call("model.x.y", {})
    exc: Any = info.value
    assert exc.method == "model.x.y"
    if expected is TrytonUserError:
        assert (exc.message, exc.description, exc.domain) == (
            "Bad value",
            "detail",
            [["name", "=", None]],
        )
    if expected is TrytonUserWarning:
        assert (exc.name, exc.message) == ("warn-key", "Are you sure?")
    if expected is TrytonServerFault:
        assert (exc.kind, exc.message) == ("Exception", "'phone'")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, TrytonAuthError),
        (404, TrytonHTTPError),
        (429, TrytonRateLimited),
        (503, TrytonRateLimited),
        ("503", TrytonTransportError),
        ("502", TrytonTransportError),
    ],
)
def test_http_status_mapping(status: int | str, expected: type[Exception]) -> None:
    server = _FakeServer()
    server.answers["model.x.y"] = status
    with pytest.raises(expected) as info:
        _client(server).call("model.x.y", {})
    if expected is TrytonRateLimited:
        assert info.value.retry_after == 5.0  # type: ignore[attr-defined]


def test_429_without_retry_after_waits_the_default() -> None:
    server = _FakeServer()
    server.answers["model.x.y"] = "429"
    with pytest.raises(crmerp.RateLimited) as info:
        _client(server).call("model.x.y", {})
    assert info.value.retry_after == DEFAULT_RETRY_AFTER


@pytest.mark.parametrize(
    ("error", "family"),
    [
        (["UserError", ["Bad value", "", None]], crmerp.DataError),
        (["UserWarning", ["key", "Sure?", ""]], crmerp.DataError),
        (["ConcurrencyException", "Records were modified"], crmerp.TransientError),
        (["'phone'", ""], crmerp.AdapterError),
    ],
)
def test_faults_are_crmerp_errors(error: Any, family: type[Exception]) -> None:
    server = _FakeServer()
    server.answers["model.x.y"] = {"error": error}
    with pytest.raises(family):
        _client(server).call("model.x.y", {})


def test_refusals_are_crmerp_errors() -> None:
    with pytest.raises(crmerp.FatalError):
        _client(_FakeServer(), password="nope").login()
    server = _FakeServer()
    server.answers["model.x.y"] = "503"
    with pytest.raises(crmerp.TransientError):
        _client(server).call("model.x.y", {})


def test_connection_refused_is_a_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    rpc = TrytonRPC("http://tryton", "db", "bob", "pw", client=http)
    with pytest.raises(TrytonTransportError):
        rpc.login()
