"""Two fakes with a few linked customers, an engine, and a watcher run in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest

from crmerp.service import Batch, Event, Watcher
from crmerp.state import StateStore, open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


class ManualSource:
    """An event source a test drives: ``send`` hands an event to the watcher."""

    def __init__(self) -> None:
        self.deliver: Callable[[Event], None] | None = None
        self.stopped = False

    def start(self, deliver: Callable[[Event], None]) -> None:
        self.deliver = deliver

    def stop(self) -> None:
        self.stopped = True

    def send(self, event: Event) -> None:
        assert self.deliver is not None, "the watcher has not started the source"
        self.deliver(event)


@attrs.define
class Company:
    crm: FakeCRM
    erp: FakeERP
    state: StateStore
    customers: dict[str, str]
    """CRM account id -> ERP party id."""

    def engine(self, **options: Any) -> SyncEngine:
        return SyncEngine(
            crm=FakeCRMAdapter(self.crm), erp=FakeERPAdapter(self.erp), state=self.state, **options
        )


@pytest.fixture
def company(state_url: str) -> Iterator[Company]:
    crm, erp = FakeCRM(), FakeERP()
    state = open_state(state_url, create=True)
    accounts = [
        crm.create("Account", Name=f"Customer {i}", Email__c=f"c{i}@example.com") for i in range(3)
    ]
    engine = SyncEngine(crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state)
    engine.run()
    with state.transaction("default") as tx:
        gids = {
            a: gid for a, (gid, _) in tx.links.by_native("customer", "fake-crm", accounts).items()
        }
        others = tx.links.by_global("customer", list(gids.values()))
    pairs = {a: others[gid]["fake-erp"][0] for a, gid in gids.items()}
    yield Company(crm, erp, state, pairs)
    state.close()


@attrs.define
class Running:
    """A watcher running in a thread; ``join`` waits for it and re-raises its error."""

    watcher: Watcher
    thread: threading.Thread
    error: list[BaseException]

    def join(self, timeout: float = 30) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the watcher did not stop"
        if self.error:
            raise self.error[0]


def start(watcher: Watcher) -> Running:
    error: list[BaseException] = []

    def body() -> None:
        try:
            watcher.run()
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return Running(watcher, thread, error)


def batches_until(
    stop_when: Callable[[Batch, list[Batch]], bool],
    act: Callable[[Batch, list[Batch]], None] = lambda b, seen: None,
) -> tuple[list[Batch], Callable[[Batch], None], threading.Event]:
    """An ``on_batch`` hook: records batches, calls ``act``, stops the watcher when
    ``stop_when`` says so (through the event the test then waits on)."""
    seen: list[Batch] = []
    done = threading.Event()
    holder: dict[str, Watcher] = {}

    def hook(batch: Batch) -> None:
        seen.append(batch)
        if stop_when(batch, seen):
            done.set()
            holder["w"].stop()
            return
        act(batch, seen)

    hook.holder = holder  # type: ignore[attr-defined]
    return seen, hook, done


HOUR = timedelta(hours=1)
