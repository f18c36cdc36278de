"""Edit-to-visible latency under ``watch``, and what a quiet service costs.

    python benchmarks/latency.py                         # 10,000 customers, SQLite
    python benchmarks/latency.py --state postgres --customers 100000
    python benchmarks/latency.py --mode poll --interval 1

Seeds N customers in the fake CRM, syncs them once (not timed), then runs a
watcher in this process while an editor thread changes customers' names at a
steady rate, alternating the CRM and the ERP. An edit is visible once the other
system shows it; its latency is measured from the edit to the end of the batch
that wrote it (an upper bound: the write lands a little earlier).

* ``event`` mode: each edit also hands the watcher an event, as a webhook would;
  the heartbeat stays at its default (30 s).
* ``poll`` mode: no events, the heartbeat is ``--interval``.

Then it measures the CPU of the quiet service (this process's CPU time over wall
time, edits stopped) for ``--quiet`` seconds, in the mode's own configuration.
The fakes are in-memory, so a batch's cost is the engine's and the state's. The
editor and the watcher share one lock over the fakes (they are not thread-safe);
an edit waits for the adapter call in progress, as a user's save waits for the
server. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crmerp.adapters import NativeRecord, Page, WriteOp, WriteResult
from crmerp.service import Batch, Event, Watcher
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
from sync import seed, state_url

LOCK = threading.Lock()


class _Locked:
    """Every adapter call under the lock the editor takes too."""

    def read_page(self, entity: str, cursor: str | None, **kw: Any) -> Page:
        with LOCK:
            return super().read_page(entity, cursor, **kw)  # type: ignore[misc]

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        with LOCK:
            return super().fetch(entity, ids)  # type: ignore[misc]

    def find_by_reference(self, entity: str, refs: Sequence[str]) -> dict[str, NativeRecord]:
        with LOCK:
            return super().find_by_reference(entity, refs)  # type: ignore[misc]

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        with LOCK:
            return super().write(entity, ops)  # type: ignore[misc]

    def signpost(self, entity: str) -> str | None:
        with LOCK:
            return super().signpost(entity)  # type: ignore[misc]


class LockedCRM(_Locked, FakeCRMAdapter):
    pass


class LockedERP(_Locked, FakeERPAdapter):
    pass


class Source:
    """Events straight from the editor, as a webhook would hand them in."""

    deliver: Any = None

    def start(self, deliver: Any) -> None:
        self.deliver = deliver

    def stop(self) -> None:
        pass


class Probe:
    """Edits waiting to be seen on the other side, checked after every batch."""

    def __init__(self, crm: FakeCRM, erp: FakeERP) -> None:
        self.crm, self.erp = crm, erp
        self.pending: dict[tuple[str, str], tuple[str, float]] = {}
        self.latencies: list[float] = []
        self.batches = 0
        self.guard = threading.Lock()

    def edited(self, target: str, native_id: str, name: str, at: float) -> None:
        with self.guard:
            self.pending[(target, native_id)] = (name, at)

    def batch(self, _batch: Batch) -> None:
        self.batches += 1
        now = time.perf_counter()
        with self.guard:
            waiting = list(self.pending.items())
        seen = []
        with LOCK:
            for (target, native_id), (name, at) in waiting:
                if target == "erp":
                    shown = (self.erp.read("party.party", native_id) or {}).get("name")
                else:
                    shown = (self.crm.read("Account", native_id) or {}).get("Name")
                if shown == name:
                    seen.append(((target, native_id), now - at))
        with self.guard:
            for key, latency in seen:
                if key in self.pending:
                    del self.pending[key]
                    self.latencies.append(latency)


def edit_steadily(
    args: argparse.Namespace,
    pairs: list[tuple[str, str]],
    crm: FakeCRM,
    erp: FakeERP,
    probe: Probe,
    source: Source | None,
) -> int:
    rng = random.Random(7)
    chosen = rng.sample(pairs, min(len(pairs), int(args.rate * args.duration)))
    gap = 1 / args.rate
    start = time.perf_counter()
    for n, (account, party) in enumerate(chosen):
        due = start + n * gap
        time.sleep(max(due - time.perf_counter(), 0))
        name = f"Edited {n:06d}"
        with LOCK:
            if n % 2 == 0:
                crm.edit("Account", account, Name=name)
            else:
                erp.edit("party.party", party, name=name)
        at = time.perf_counter()
        probe.edited("erp" if n % 2 == 0 else "crm", party if n % 2 == 0 else account, name, at)
        if source is not None and source.deliver is not None:
            system = "fake-crm" if n % 2 == 0 else "fake-erp"
            source.deliver(Event(entity="customer", system=system))
    return len(chosen)


def linked_pairs(engine: SyncEngine) -> list[tuple[str, str]]:
    pairs = []
    with engine.state.transaction(engine.scope) as tx:
        crm_ids = list(tx.links.native_ids("customer", "fake-crm"))
        by_native = tx.links.by_native("customer", "fake-crm", crm_ids)
        others = tx.links.by_global("customer", [g for g, _ in by_native.values()])
    for account, (gid, _) in by_native.items():
        party = others.get(gid, {}).get("fake-erp")
        if party is not None:
            pairs.append((account, party[0]))
    return pairs


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(args: argparse.Namespace, mode: str) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        crm, erp = FakeCRM(), FakeERP()
        seed(crm, args.customers)
        state = open_state(state_url(args.state, workdir), create=True)
        engine = SyncEngine(
            crm=LockedCRM(crm, page_size=1000),
            erp=LockedERP(erp, page_size=1000),
            state=state,
            batch_size=1000,
        )
        started = time.perf_counter()
        engine.run()
        engine.run()  # the engine's own creates come back once, as echoes
        setup = time.perf_counter() - started
        pairs = linked_pairs(engine)
        probe = Probe(crm, erp)
        source = Source() if mode == "event" else None
        heartbeat = timedelta(seconds=30 if mode == "event" else args.interval)
        watcher: Watcher = engine.watch(
            [source] if source is not None else [],
            entities=args.entities or None,
            heartbeat=heartbeat,
            window=timedelta(milliseconds=args.window),
            reconcile_every=None,
            on_batch=probe.batch,
        )
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        while probe.batches == 0:  # the catch-up batch: the service is up
            time.sleep(0.01)
        edits = edit_steadily(args, pairs, crm, erp, probe, source)
        drain_until = time.perf_counter() + heartbeat.total_seconds() + 10
        while probe.pending and time.perf_counter() < drain_until:
            time.sleep(0.05)
        batches_before = probe.batches
        wall, cpu = time.perf_counter(), time.process_time()
        time.sleep(args.quiet)
        quiet_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        quiet_batches = probe.batches - batches_before
        watcher.stop()
        thread.join()
        state.close()
    lat = probe.latencies
    print(
        f"{mode:5} state={args.state} customers={args.customers:,} edits={edits} "
        f"({args.rate:g}/s, both sides) seen={len(lat)} lost={len(probe.pending)} "
        f"heartbeat={heartbeat.total_seconds():g}s window={args.window:g}ms "
        f"(setup {setup:.0f}s, not counted)"
    )
    print(
        f"      edit-to-visible p50 {percentile(lat, 50) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 95) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms, "
        f"max {max(lat, default=float('nan')) * 1000:.0f} ms, "
        f"mean {statistics.fmean(lat) * 1000 if lat else float('nan'):.0f} ms"
    )
    print(
        f"      quiet service: {quiet_cpu:.2f}% of one core over {args.quiet:g}s "
        f"({quiet_batches} heartbeat batch(es) in that time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--mode", choices=["event", "poll", "both"], default="both")
    parser.add_argument("--rate", type=float, default=5.0, help="edits per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of edits")
    parser.add_argument("--interval", type=float, default=1.0, help="poll mode's heartbeat")
    parser.add_argument("--window", type=float, default=100.0, help="event window, ms")
    parser.add_argument("--quiet", type=float, default=30.0, help="seconds of quiet measured")
    parser.add_argument("--entities", nargs="*", help="entities watched (default: all)")
    args = parser.parse_args()
    for mode in ("event", "poll") if args.mode == "both" else (args.mode,):
        measure(args, mode)


if __name__ == "__main__":
    main()
