"""The NATS JetStream source, against the real server (127.0.0.1:4222 unless
CRMERP_TEST_NATS says otherwise; skips without one unless CRMERP_REQUIRE_NATS=1)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from crmerp.service import Batch, JetStreamSource
from crmerp.testing import SimulatedCrash
from tests.service.conftest import HOUR, Company, batches_until, start

NATS_URL = os.environ.get("CRMERP_TEST_NATS", "nats://127.0.0.1:4222")


async def _probe() -> str | None:
    import nats

    try:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as exc:
        return f"NATS at {NATS_URL} is not reachable: {exc}"
    try:
        await nc.jetstream().account_info()
    except Exception as exc:
        return f"NATS at {NATS_URL} has no JetStream: {exc}"
    finally:
        await nc.close()
    return None


@pytest.fixture
def stream() -> Iterator[tuple[str, str]]:
    """A stream of its own (name, subject prefix), deleted afterwards."""
    problem = asyncio.run(_probe())
    if problem:
        if os.environ.get("CRMERP_REQUIRE_NATS") == "1":
            pytest.fail(f"CRMERP_REQUIRE_NATS=1 but {problem}")
        pytest.skip(problem)
    tag = uuid.uuid4().hex[:10]
    yield f"CRMERP_T_{tag}", f"crmerp.t{tag}"
    asyncio.run(_delete(f"CRMERP_T_{tag}"))


async def _delete(name: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def publish(subject: str, event: dict[str, object]) -> None:
    async def send() -> None:
        import nats

        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().publish(subject, json.dumps(event).encode())
        finally:
            await nc.close()

    asyncio.run(send())


def _source(stream: tuple[str, str], **options: object) -> JetStreamSource:
    name, prefix = stream
    return JetStreamSource(
        url=NATS_URL, stream=name, subjects=[f"{prefix}.>"], durable="watch", **options
    )


def test_an_event_from_jetstream_brings_the_edit_across(
    company: Company, stream: tuple[str, str]
) -> None:
    account = next(iter(company.customers))

    def act(batch: Batch, seen: list[Batch]) -> None:
        company.crm.edit("Account", account, Name="Through JetStream")
        publish(f"{stream[1]}.customer", {"entity": "customer", "ids": [account]})

    seen, hook, _done = batches_until(lambda b, _: b.kind == "events", act)
    watcher = company.engine().watch(
        [_source(stream)], heartbeat=HOUR, reconcile_every=None, on_batch=hook
    )
    hook.holder["w"] = watcher  # type: ignore[attr-defined]
    start(watcher).join()
    assert [b.kind for b in seen] == ["catch-up", "events"]
    assert company.erp.read("party.party", company.customers[account])["name"] == (
        "Through JetStream"
    )


def test_jetstream_delivers_again_an_event_whose_batch_crashed(
    company: Company, stream: tuple[str, str]
) -> None:
    account = next(iter(company.customers))
    armed: list[bool] = []

    def crash_at_merge(step: str) -> None:
        if armed and step == "merge":
            raise SimulatedCrash("merge")

    def act(batch: Batch, seen: list[Batch]) -> None:
        armed.append(True)
        company.crm.edit("Account", account, Name="Crashed once")
        publish(f"{stream[1]}.customer", {"entity": "customer", "id": "delivery-1"})

    _first, hook, _done = batches_until(lambda b, _: False, act)
    crashing = company.engine(boundary=crash_at_merge).watch(
        [_source(stream, ack_wait=timedelta(seconds=1))],
        heartbeat=HOUR,
        reconcile_every=None,
        on_batch=hook,
    )
    hook.holder["w"] = crashing  # type: ignore[attr-defined]
    with pytest.raises(SimulatedCrash):
        start(crashing).join()
    assert company.erp.read("party.party", company.customers[account])["name"] != "Crashed once"

    # A new process: JetStream hands the unacknowledged event in again.
    seen, hook, _done = batches_until(lambda b, _: b.kind == "events")
    restarted = company.engine().watch(
        [_source(stream, ack_wait=timedelta(seconds=1))],
        heartbeat=HOUR,
        reconcile_every=None,
        on_batch=hook,
    )
    hook.holder["w"] = restarted  # type: ignore[attr-defined]
    start(restarted).join()
    redelivered = seen[-1].events
    assert [e.delivery for e in redelivered] == ["delivery-1"]
    assert company.erp.read("party.party", company.customers[account])["name"] == "Crashed once"
