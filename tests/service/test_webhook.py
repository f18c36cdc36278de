"""The webhook endpoint: signed deliveries queue an event, bad ones are refused and
stage nothing, repeats are applied once; health and metrics over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crmerp.service import Batch, Event, WatchMetrics, WebhookSource, sign, webhook_app
from tests.service.conftest import HOUR, Company, batches_until, start

SECRET = "s3cret-for-tests"


class InProcess:
    """The ASGI app called in-process through httpx, from plain (threaded) code."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def post(self, path: str, **options: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.post(path, **options)

        return asyncio.run(call())


def _post(client: InProcess | httpx.Client, body: bytes, **headers: str) -> httpx.Response:
    return client.post(
        "/events",
        content=body,
        headers={"X-Crmerp-Signature": sign(SECRET, body), **headers},
    )


def test_a_signed_delivery_queues_its_event_at_once() -> None:
    got: list[Event] = []
    client = InProcess(webhook_app(got.append, secret=SECRET))
    body = b'{"entity": "customer", "system": "tryton", "ids": [7], "id": "d-1"}'
    answer = _post(client, body)
    assert answer.status_code == 202
    assert [(e.entity, e.system, e.ids, e.delivery) for e in got] == [
        ("customer", "tryton", ("7",), "d-1")
    ]


@pytest.mark.parametrize(
    ("signature", "reason"),
    [(None, "missing"), ("sha256=00", "wrong"), ("SIGNED-WITH-ANOTHER-SECRET", "other secret")],
)
def test_a_delivery_without_a_valid_signature_is_refused_with_401(
    signature: str | None, reason: str
) -> None:
    got: list[Event] = []
    client = InProcess(webhook_app(got.append, secret=SECRET))
    body = b'{"entity": "customer"}'
    headers = {}
    if signature == "SIGNED-WITH-ANOTHER-SECRET":
        headers["X-Crmerp-Signature"] = sign("another", body)
    elif signature is not None:
        headers["X-Crmerp-Signature"] = signature
    answer = client.post("/events", content=body, headers=headers)
    assert answer.status_code == 401, reason
    assert got == []


def test_an_oversized_body_is_refused_with_413_whatever_it_claims() -> None:
    got: list[Event] = []
    client = InProcess(webhook_app(got.append, secret=SECRET, max_body=100))
    body = b'{"entity": "customer", "pad": "' + b"x" * 200 + b'"}'
    assert _post(client, body).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield body[:60]
        yield body[60:]

    streamed = client.post(
        "/events", content=chunks(), headers={"X-Crmerp-Signature": sign(SECRET, body)}
    )
    assert streamed.status_code == 413
    assert got == []


def test_a_body_that_is_no_event_is_refused_with_400() -> None:
    got: list[Event] = []
    client = InProcess(webhook_app(got.append, secret=SECRET))
    assert _post(client, b'{"entity": "spaceship"}').status_code == 400
    assert _post(client, b"[1, 2]").status_code == 400
    assert _post(client, b"not json").status_code == 400
    signed_empty = {"X-Crmerp-Signature": sign(SECRET, b"")}
    assert client.post("/events?entity=spaceship", headers=signed_empty).status_code == 400
    assert got == []


def test_a_sender_that_cannot_shape_the_body_names_the_entity_in_the_query() -> None:
    got: list[Event] = []
    client = InProcess(webhook_app(got.append, secret=SECRET))
    answer = client.post(
        "/events?entity=order",
        headers={"X-Crmerp-Signature": sign(SECRET, b""), "X-Crmerp-Delivery": "x-9"},
    )
    assert answer.status_code == 202
    assert [(e.entity, e.delivery) for e in got] == [("order", "x-9")]


def test_refused_deliveries_stage_nothing(company: Company) -> None:
    account = next(iter(company.customers))
    company.crm.edit("Account", account, Name="Edited, then refused deliveries")
    refused: list[int] = []

    def act(batch: Batch, seen: list[Batch]) -> None:
        client = InProcess(webhook_app(watcher.submit, secret=SECRET, max_body=50))
        body = b'{"entity": "customer"}'
        refused.append(client.post("/events", content=body).status_code)
        refused.append(_post(client, body + b" " * 100).status_code)
        watcher.stop()

    _seen, hook, _done = batches_until(lambda b, _: False, act)
    # No catch-up edits to stage: the edit above is seen by the first batch; the
    # point is that the refused deliveries start no batch and stage nothing.
    watcher = company.engine().watch(heartbeat=HOUR, reconcile_every=None, on_batch=hook)
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert refused == [401, 413]
    assert [b.kind for b in _seen] == ["catch-up"]
    with company.state.transaction("default") as tx:
        assert not any(tx.inbox.counts().values())


def test_a_webhook_delivered_three_times_is_applied_once(company: Company) -> None:
    account = next(iter(company.customers))
    metrics = WatchMetrics()
    answers: list[int] = []
    body = b'{"entity": "customer", "system": "fake-crm", "id": "delivery-42"}'

    def act(batch: Batch, seen: list[Batch]) -> None:
        client = InProcess(webhook_app(watcher.submit, secret=SECRET, watcher=watcher))
        if batch.kind == "catch-up":
            company.crm.edit("Account", account, Name="Delivered three times")
            answers.append(_post(client, body).status_code)
        elif len(seen) == 2:
            answers.append(_post(client, body).status_code)
            answers.append(_post(client, body).status_code)
            # A marker of another entity ends the test once it ran.
            answers.append(_post(client, b'{"entity": "product", "id": "m"}').status_code)

    seen, hook, _done = batches_until(lambda b, s: len(s) == 3, act)
    watcher = company.engine().watch(
        heartbeat=HOUR, reconcile_every=None, metrics=metrics, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert answers == [202, 202, 202, 202]
    assert [(b.kind, b.entities) for b in seen[1:]] == [
        ("events", ("customer",)),
        ("events", ("product",)),
    ]
    assert sum(b.report.writes for b in seen[1:] if b.report) == 1
    assert company.erp.read("party.party", company.customers[account])["name"] == (
        "Delivered three times"
    )
    assert metrics.events.labels("duplicate")._value.get() == 2


def test_the_endpoint_serves_events_health_and_metrics_on_a_real_socket(company: Company) -> None:
    account = next(iter(company.customers))
    source = WebhookSource(secret=SECRET, port=0)
    metrics = WatchMetrics()
    seen_health: list[tuple[int, dict[str, object]]] = []
    scraped: list[str] = []

    def act(batch: Batch, seen: list[Batch]) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{source.port}") as client:
            if batch.kind == "catch-up":
                health = client.get("/healthz")
                seen_health.append((health.status_code, health.json()))
                company.crm.edit("Account", account, Name="Over a socket")
                assert _post(client, b'{"entity": "customer"}').status_code == 202
            else:
                scraped.append(client.get("/metrics").text)
                watcher.stop()

    _seen, hook, _done = batches_until(lambda b, _: False, act)
    watcher = company.engine().watch(
        [source], heartbeat=HOUR, reconcile_every=None, metrics=metrics, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert seen_health[0][0] == 200
    assert seen_health[0][1]["status"] == "ok"
    assert company.erp.read("party.party", company.customers[account])["name"] == "Over a socket"
    text = scraped[0]
    assert 'crmerp_runs_total{kind="events",outcome="ok"} 1.0' in text
    assert 'crmerp_writes_total{entity="customer",kind="update",side="erp"} 1.0' in text
    assert "crmerp_lag_seconds_bucket" in text
    assert 'crmerp_last_success_timestamp_seconds{entity="customer"}' in text
    with pytest.raises(httpx.ConnectError):  # stopped with the watcher
        httpx.get(f"http://127.0.0.1:{source.port}/healthz")
