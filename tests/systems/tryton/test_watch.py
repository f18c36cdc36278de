"""``watch`` with polling between the fake CRM and a real Tryton: an edit made
through Tryton's API reaches the CRM with no event sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crmerp.adapters.tryton import TrytonAdapter, TrytonRPC
from crmerp.service import Batch
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter

pytestmark = pytest.mark.live


@pytest.fixture
def tryton(fresh_tryton_server: Any) -> Iterator[tuple[TrytonAdapter, TrytonRPC]]:
    server = fresh_tryton_server
    adapter = TrytonAdapter(
        server.url, server.database, server.username, server.password, settle_seconds=0
    )
    with TrytonRPC(server.url, server.database, server.username, server.password) as rpc:
        yield adapter, rpc
    adapter.close()


def test_an_edit_through_trytons_api_reaches_the_crm_under_watch_with_polling(
    tryton: tuple[TrytonAdapter, TrytonRPC], tmp_path: Path
) -> None:
    erp, rpc = tryton
    crm = FakeCRM()
    (hotel,) = rpc.create("party.party", [{
        "name": "Hotel Alpenblick AG",
        "contact_mechanisms": [["create", [{"type": "email",
                                             "value": "office@alpenblick.example"}]]],
    }])  # fmt: skip
    state = open_state(f"sqlite:///{tmp_path / 'sync.db'}", create=True)
    engine = SyncEngine(crm=FakeCRMAdapter(crm), erp=erp, state=state)
    seen: list[Batch] = []
    failed: list[BaseException] = []

    def after(batch: Batch) -> None:
        seen.append(batch)
        if batch.kind == "catch-up":
            assert crm.find("Account", Name="Hotel Alpenblick AG")
            rpc.write("party.party", [hotel], {"name": "Hotel Alpenblick Garmisch AG"})
            return
        reached = batch.report is not None and batch.report.entity("customer").crm.updated
        if reached or len(seen) > 50:
            watcher.stop()

    watcher = engine.watch(
        entities=["customer"],
        heartbeat=timedelta(milliseconds=200),
        reconcile_every=None,
        on_batch=after,
    )

    def body() -> None:
        try:
            watcher.run()
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(120)
    state.close()
    assert not thread.is_alive()
    assert not failed, failed
    assert all(b.events == () for b in seen)  # polling only: no event was sent
    assert {b.kind for b in seen[1:]} == {"heartbeat"}
    assert crm.find("Account", Name="Hotel Alpenblick Garmisch AG")
