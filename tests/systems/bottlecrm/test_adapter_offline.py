"""The BottleCRM adapter against a scripted HTTP transport: what no live server will do.

Rate limits, dropped connections and gateway errors, the error tree, exact
decimals in JSON, and the reference field set up at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

import crmerp
from crmerp.adapters import WriteKind, WriteOp, WriteStatus, adapter_class, reference_for
from crmerp.adapters.bottlecrm import (
    BottleCRMAdapter,
    BottleCRMAuthError,
    BottleCRMClient,
    BottleCRMRateLimited,
    BottleCRMTransportError,
    BottleCRMUnavailableError,
    BottleCRMValidationError,
)
from crmerp.models import Customer, new_global_id

Handler = Callable[[httpx.Request], httpx.Response]

_DEFINED = {
    "definitions": [
        {"target_model": m, "key": "crmerp_ref", "is_active": True}
        for m in ("Account", "Opportunity", "Invoice")
    ]
}


def _server(writes: Handler, definitions: dict[str, Any] = _DEFINED) -> Handler:
    """A BottleCRM that has the custom fields and answers writes with ``writes``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/custom-fields/" and request.method == "GET":
            return httpx.Response(200, json=definitions)
        if request.url.path == "/api/accounts/" and request.method == "GET":
            empty = {
                "active_accounts": {"open_accounts": [], "open_accounts_count": 0},
                "closed_accounts": {"close_accounts": [], "close_accounts_count": 0},
            }
            return httpx.Response(200, json=empty)
        return writes(request)

    return handle


def _adapter(handler: Handler) -> BottleCRMAdapter:
    client = BottleCRMClient("http://crm.invalid", "t", transport=httpx.MockTransport(handler))
    return BottleCRMAdapter(client=client)


def _ops(count: int) -> list[WriteOp]:
    adapter_payload = {"name": "Acme", "email": None, "phone": None, "contacts": []}
    return [
        WriteOp(
            WriteKind.CREATE,
            reference_for(new_global_id()),
            {**adapter_payload, "name": f"Acme {n}"},
        )
        for n in range(count)
    ]


def _created(request: httpx.Request, seen: list[str]) -> httpx.Response:
    seen.append(json.loads(request.content)["name"])
    return httpx.Response(200, json={"error": False, "id": f"id-{len(seen)}"})


def _account(request: httpx.Request) -> httpx.Response:
    account_id = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    return httpx.Response(200, json={"account_obj": {"id": account_id, "contacts": []}})


def test_a_rate_limit_answers_retry_for_the_rest_without_sending_it() -> None:
    sent: list[str] = []

    def writes(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return _account(request)
        if len(sent) == 1:
            sent.append("refused")
            return httpx.Response(429, headers={"Retry-After": "12"}, json={"detail": "slow"})
        return _created(request, sent)

    results = _adapter(_server(writes)).write("customer", _ops(4))

    assert [r.status for r in results] == [WriteStatus.DONE] + [WriteStatus.RETRY] * 3
    assert [r.retry_after for r in results[1:]] == [12.0] * 3
    assert sent == ["Acme 0", "refused"]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.Response(503, text="<html>maintenance</html>"),
    ],
)
def test_an_unreachable_server_answers_retry(failure: Any) -> None:
    def writes(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    results = _adapter(_server(writes)).write("customer", _ops(2))

    assert [r.status for r in results] == [WriteStatus.RETRY] * 2
    assert results[0].reason.startswith("not sent")


def test_a_refused_record_fails_alone_and_a_bad_token_stops_the_batch() -> None:
    sent: list[str] = []

    def writes(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return _account(request)
        if json.loads(request.content)["name"] == "Acme 1":
            return httpx.Response(400, json={"error": True, "errors": {"name": ["taken"]}})
        return _created(request, sent)

    results = _adapter(_server(writes)).write("customer", _ops(3))
    assert [r.status for r in results] == [WriteStatus.DONE, WriteStatus.FAILED, WriteStatus.DONE]
    assert "taken" in results[1].reason

    def no_org(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": "Organization context is required."})

    with pytest.raises(crmerp.FatalError):
        _adapter(_server(no_org)).write("customer", _ops(1))


def test_client_errors_are_members_of_the_crmerp_error_tree() -> None:
    assert issubclass(BottleCRMRateLimited, crmerp.RateLimited)
    assert issubclass(BottleCRMTransportError, crmerp.TransientError)
    assert issubclass(BottleCRMUnavailableError, crmerp.TransientError)
    assert issubclass(BottleCRMValidationError, crmerp.DataError)
    assert issubclass(BottleCRMAuthError, crmerp.FatalError)

    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"detail": "slow down"})

    client = BottleCRMClient("http://crm.invalid", "t", transport=httpx.MockTransport(limited))
    with pytest.raises(crmerp.RateLimited) as caught:
        client.list_products()
    assert caught.value.retry_after > 0  # no Retry-After header: a default wait, never None


def test_json_numbers_are_read_as_decimals() -> None:
    def deal(request: httpx.Request) -> httpx.Response:
        body = '{"opportunity_obj": {"id": "d1", "line_items_total": 0.1}}'
        return httpx.Response(
            200, content=body.encode(), headers={"Content-Type": "application/json"}
        )

    client = BottleCRMClient("http://crm.invalid", "t", transport=httpx.MockTransport(deal))
    total = client.get_opportunity("d1")["line_items_total"]
    assert total == Decimal("0.1")
    assert isinstance(total, Decimal)


def test_the_reference_field_is_defined_at_start_where_missing() -> None:
    created: list[tuple[str, str]] = []

    def define(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        created.append((body["target_model"], body["key"]))
        return httpx.Response(201, json=body)

    only_accounts = {"definitions": _DEFINED["definitions"][:1]}
    _adapter(_server(define, only_accounts))

    assert created == [("Opportunity", "crmerp_ref"), ("Invoice", "crmerp_ref")]


def test_a_missing_reference_field_and_no_right_to_define_it_is_a_clear_usage_error() -> None:
    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": True, "errors": "admins only"})

    with pytest.raises(crmerp.UsageError, match="ADMIN token"):
        _adapter(_server(forbidden, {"definitions": []}))


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTTLECRM_TOKEN", raising=False)
    monkeypatch.setenv("BOTTLECRM_URL", "http://crm.invalid")
    with pytest.raises(crmerp.UsageError, match="BOTTLECRM_TOKEN"):
        BottleCRMAdapter()


def test_registered_by_name_and_unsupported_entities_are_refused() -> None:
    assert adapter_class("bottlecrm") is BottleCRMAdapter
    adapter = _adapter(_server(lambda request: httpx.Response(500)))
    caps = adapter.capabilities()
    assert "order" not in caps.readable | caps.writable
    assert (caps.change_feed, caps.reports_deletes, caps.upsert_by_reference) == (
        False,
        False,
        True,
    )
    with pytest.raises(crmerp.UsageError):
        adapter.read_page("invoice", None, limit=10)


def test_a_customer_in_an_unaccepted_currency_fails_before_any_write() -> None:
    def nothing(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, got {request.method} {request.url}")

    adapter = _adapter(_server(nothing))
    payload = adapter.to_native("customer", Customer(name="Krona AB", currency="SEK"))
    (result,) = adapter.write("customer", [WriteOp(WriteKind.CREATE, "crmerp:x", payload)])
    assert result.status is WriteStatus.FAILED
    assert "SEK" in result.reason


def test_the_instance_is_the_base_url_and_the_org_when_given() -> None:
    def no_writes(request: httpx.Request) -> httpx.Response:
        return httpx.Response(405)

    def adapter(url: str, org: str | None = None) -> BottleCRMAdapter:
        transport = httpx.MockTransport(_server(no_writes))
        return BottleCRMAdapter(client=BottleCRMClient(url, "t", org=org, transport=transport))

    assert adapter("http://crm.invalid/").instance() == "http://crm.invalid"
    assert adapter("http://crm.invalid", "acme").instance() == "http://crm.invalid#org=acme"
