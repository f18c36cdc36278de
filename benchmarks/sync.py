"""Sync throughput on the fakes: initial sync, an incremental run, peak memory.

    python benchmarks/sync.py                       # 100,000 customers, SQLite state
    python benchmarks/sync.py --state postgres      # the same on PostgreSQL
    python benchmarks/sync.py --records 1000000 --streaming    # engine memory at 1M
    python benchmarks/sync.py --gc-freeze           # as an application that calls gc.freeze()
    python benchmarks/sync.py --full-read           # systems without a change feed
    python benchmarks/sync.py --erp sql             # the ERP as SQL tables (SQLite file)
    python benchmarks/sync.py --erp sql --sql-url mysql+pymysql://root@127.0.0.1/bench

Prints records/s for the initial sync of N customers (CRM -> empty ERP), the time
of a run after 1% of them changed on each side (and its share of the initial
run), and the process's peak resident memory. Figures, not assertions.

``--streaming`` swaps the fakes (which hold every record in memory: a million
customers are several GiB of Python objects in each) for a generated CRM and a
counting ERP that hold none (benchmarks/_streaming.py), so the peak memory is the
engine's own; it runs the initial sync only.

``--full-read`` gives both fakes' adapters no change feed (``change_feed=False``),
as a system that cannot say what changed: every run reads every record, and the
run after 1% changed is a full read of both sides (unchanged records stop at
their raw hash, see sync/_raw.py).

``--erp sql`` puts the ERP in SQL tables read and written by the SQL table
adapter (crmerp.adapters.sql), declared as crmerp.toml would declare them
(benchmarks/_sql_erp.py): a SQLite file by default, or the empty database at
``--sql-url``. The ERP's own edits are then SQL updates of the rows.

``--gc-freeze`` calls ``gc.freeze()`` once everything is set up, as a sync job can
after its start-up: the collector then stops rescanning the libraries' objects
(and the seeded fake CRM) on every full collection, which the batches' many
long-lived objects trigger about once a batch.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import uuid

import attrs

from crmerp.adapters import Adapter, Capabilities
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

POSTGRES = os.environ.get("CRMERP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class FullReadCRMAdapter(FakeCRMAdapter):
    """The fake CRM as a system without a change feed: every read is a full read."""

    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), change_feed=False)


class FullReadERPAdapter(FakeERPAdapter):
    """The fake ERP as a system without a change feed."""

    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), change_feed=False)


def change_one_percent(crm: FakeCRM, erp: FakeERP, ids: list[str]) -> int:
    """Edit 1% of the customers on each side (different ones); returns how many."""
    parties = [p["id"] for p in erp.find("party.party")]
    step = 100
    for n in range(0, len(ids), step):
        crm.edit("Account", ids[n], Payment_Terms__c="net 45")
    for n in range(step // 2, len(parties), step):
        erp.edit("party.party", parties[n], name=f"Renamed {n} AG")
    return len(range(0, len(ids), step)) + len(range(step // 2, len(parties), step))


def seed(crm: FakeCRM, count: int) -> list[str]:
    ids = []
    for n in range(count):
        ids.append(
            crm.create(
                "Account",
                Name=f"Customer {n:07d} GmbH",
                Email__c=f"buyer{n}@customer{n}.example",
                Phone=f"+4930{n:07d}",
                CurrencyIsoCode="EUR",
                Payment_Terms__c="net 30",
                BillingAddress={
                    "street": f"Hauptstrasse {n % 200}",
                    "city": "Berlin",
                    "postalCode": f"{10000 + n % 9000}",
                    "countryCode": "DE",
                },
            )
        )
    return ids


def state_url(kind: str, workdir: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir}/bench-state.db"
    import psycopg

    schema = f"crmerp_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{POSTGRES}?options=-csearch_path%3D{schema}"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--memory-only", action="store_true", help="only the initial sync, reporting peak memory"
    )
    parser.add_argument(
        "--streaming",
        action="store_true",
        help="generated CRM and counting ERP that hold no records: the engine's own memory",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() before the run, as a sync job can after its start-up",
    )
    parser.add_argument(
        "--full-read",
        action="store_true",
        help="adapters without a change feed: the run after 1%% changed reads everything",
    )
    parser.add_argument("--erp", choices=["fake", "sql"], default="fake")
    parser.add_argument("--sql-url", help="an empty database for --erp sql (default: SQLite)")
    args = parser.parse_args()
    if args.streaming:
        streaming(args.records, args.state, freeze=args.gc_freeze)
        return
    with tempfile.TemporaryDirectory() as workdir:
        crm, erp = FakeCRM(), FakeERP()
        started = time.perf_counter()
        ids = seed(crm, args.records)
        seeded = time.perf_counter() - started
        baseline = current_mib()
        state = open_state(state_url(args.state, workdir), create=True)
        crm_kind, erp_kind = (
            (FullReadCRMAdapter, FullReadERPAdapter)
            if args.full_read
            else (FakeCRMAdapter, FakeERPAdapter)
        )
        sql_url = args.sql_url or f"sqlite:///{workdir}/bench-erp.db"
        if args.erp == "sql":
            import _sql_erp

            _sql_erp.create_tables(sql_url)
            erp_adapter: Adapter = _sql_erp.adapter(sql_url, page_size=1000)
        else:
            erp_adapter = erp_kind(erp, page_size=1000)
        engine = SyncEngine(
            crm=crm_kind(crm, page_size=1000),
            erp=erp_adapter,
            state=state,
            batch_size=1000,
        )
        if args.gc_freeze:
            gc.freeze()
        started, cpu = time.perf_counter(), time.process_time()
        report = engine.run(["customer"])
        initial = time.perf_counter() - started
        initial_cpu = time.process_time() - cpu
        created = report.entity("customer").erp.created
        print(
            f"state={args.state} records={args.records} (seeding the fake CRM took "
            f"{seeded:.1f}s, not counted){' gc frozen' if args.gc_freeze else ''}"
            f"{' no change feed (full reads)' if args.full_read else ''}"
            f" erp={args.erp}{' ' + sql_url.split('://')[0] if args.erp == 'sql' else ''}"
        )
        print(
            f"initial sync: {created} created in {initial:.2f}s = "
            f"{created / initial:,.0f} records/s wall, "
            f"{created / initial_cpu:,.0f} records/s of this process's CPU"
        )
        if not args.memory_only:
            # The engine's own writes come back through the change feed once (or
            # in the next full read): the next run reads them and drops them.
            started = time.perf_counter()
            echo_run = engine.run(["customer"])
            echo_seconds = time.perf_counter() - started
            back = echo_run.entity("customer").erp
            print(
                f"next run, reading back the engine's own "
                f"{back.echoes + back.unchanged:,} creates as echoes/unchanged: "
                f"{echo_run.writes} writes in {echo_seconds:.2f}s"
            )
            if args.erp == "sql":
                change_one_percent(crm, FakeERP(), ids)
                _sql_erp.rename_one_percent(sql_url)
            else:
                change_one_percent(crm, erp, ids)
            started, cpu = time.perf_counter(), time.process_time()
            again = engine.run(["customer"])
            incremental = time.perf_counter() - started
            incremental_cpu = time.process_time() - cpu
            rep = again.entity("customer")
            read = rep.crm.pulled + rep.erp.pulled
            print(
                f"run after 1% changed on each side"
                f"{' (full read of both, no change feed)' if args.full_read else ''}: "
                f"{read:,} records read, {again.writes} writes in {incremental:.2f}s = "
                f"{100 * incremental / initial:.1f}% of the initial run "
                f"({100 * incremental_cpu / initial_cpu:.1f}% of its CPU); "
                f"{read / incremental_cpu:,.0f} records read per CPU-second"
            )
            started = time.perf_counter()
            engine.run(["customer"])
            idle = engine.run(["customer"])
            print(
                f"run with nothing changed: {idle.writes} writes in "
                f"{time.perf_counter() - started:.2f}s (two runs: echoes, then idle)"
            )
        print(
            f"peak resident memory: {peak_mib():,.0f} MiB, of which {baseline:,.0f} MiB "
            f"was the seeded fake CRM before the sync started"
        )
        state.close()
        erp_adapter.close()


def streaming(records: int, kind: str, *, freeze: bool = False) -> None:
    """The initial sync of ``records`` generated customers into a counting ERP."""
    from _streaming import CountingERP, GeneratedCRM

    with tempfile.TemporaryDirectory() as workdir:
        baseline = current_mib()
        state = open_state(state_url(kind, workdir), create=True)
        erp = CountingERP()
        engine = SyncEngine(crm=GeneratedCRM(records), erp=erp, state=state, batch_size=1000)
        if freeze:
            gc.freeze()
        started, cpu = time.perf_counter(), time.process_time()
        report = engine.run(["customer"])
        done = report.entity("customer").erp.created
        wall = time.perf_counter() - started
        spent = time.process_time() - cpu
        peak_during = peak_mib()
        print(
            f"streaming: state={kind} records={records:,}: {done:,} created in {wall:.1f}s = "
            f"{done / wall:,.0f} records/s wall, {done / spent:,.0f} records/s of CPU"
        )
        print(
            f"peak resident memory: {peak_during:,.0f} MiB for the whole process "
            f"({baseline:,.0f} MiB before the run: interpreter and libraries)"
        )
        state.close()


if __name__ == "__main__":
    sys.exit(main())
