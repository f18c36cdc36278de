"""crmerp beside dlt on the same generated customers, in one run, per CPU-second.

    pip install 'crmerp[bench]'                 # dlt with DuckDB and parquet
    python benchmarks/peers.py                   # 100,000 customers
    python benchmarks/peers.py --records 2000    # a quick look

The customers are the ones ``benchmarks/sync.py`` generates (its ``seed``), in one
fake CRM. Measured, each from the same records:

* initial load: crmerp's initial sync (fake CRM -> empty fake ERP, SQLite state)
  against dlt merging the CRM's pages into DuckDB (``write_disposition="merge"``
  on ``Id``, ``loader_file_format="parquet"``), once with the records as read
  (the address nested: dlt flattens it) and once flattened beforehand;
* a full read with 1% changed: 1% of the customers edited on each side (as
  ``sync.py`` does), then crmerp's run over adapters without a change feed (it
  reads both systems in full; unchanged records stop at their raw hash) against
  dlt reloading the whole CRM with the same merge (it has no way to skip).

CPU time is the process's user + system time from ``getrusage`` (``RUSAGE_SELF``,
every thread, DuckDB's included) plus ``RUSAGE_CHILDREN``; dlt runs normalize and
load with one worker (``NORMALIZE__WORKERS=1``, ``LOAD__WORKERS=1``), so it
starts no process pool, and with its telemetry off. Reading the fake CRM is
counted on both sides; seeding it is not. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP
from sync import FullReadCRMAdapter, FullReadERPAdapter, change_one_percent, seed

PAGE = 1000

os.environ.setdefault("NORMALIZE__WORKERS", "1")
os.environ.setdefault("LOAD__WORKERS", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measured(step: Callable[[], int]) -> tuple[int, float]:
    """(records the step reports, CPU seconds it took)."""
    before = cpu_seconds()
    records = step()
    return records, cpu_seconds() - before


def _dlt() -> Any:
    try:
        import dlt
    except ImportError:
        raise SystemExit(
            "benchmarks/peers.py needs dlt with DuckDB and parquet: "
            "pip install 'crmerp[bench]' (or 'dlt[duckdb,parquet]')"
        ) from None
    return dlt


def crm_pages(crm: FakeCRM, *, flat: bool) -> Iterator[list[dict[str, Any]]]:
    """Every customer of the fake CRM, a page at a time, as its adapter reads them."""
    adapter = FakeCRMAdapter(crm, page_size=PAGE)
    cursor = None
    while True:
        page = adapter.read_page("customer", cursor, limit=PAGE)
        rows = [dict(record.payload) for record in page.records]
        yield [_flatten(row) for row in rows] if flat else rows
        if not page.more:
            return
        cursor = page.cursor


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update({f"{key}_{inner}": item for inner, item in value.items()})
        else:
            out[key] = value
    return out


class DltLoad:
    """One dlt pipeline merging the fake CRM's customers into its own DuckDB file."""

    def __init__(self, workdir: Path, name: str, *, flat: bool) -> None:
        dlt = _dlt()
        self.dlt = dlt
        self.flat = flat
        self.pipeline = dlt.pipeline(
            pipeline_name=f"crmerp_peers_{name}",
            destination=dlt.destinations.duckdb(str(workdir / f"{name}.duckdb")),
            dataset_name="bench",
            pipelines_dir=str(workdir / "dlt"),
        )

    def load(self, crm: FakeCRM) -> int:
        resource_ = self.dlt.resource(
            crm_pages(crm, flat=self.flat),
            name="customers",
            write_disposition="merge",
            primary_key="Id",
        )
        self.pipeline.run(resource_, loader_file_format="parquet")
        with self.pipeline.sql_client() as client:
            rows = client.execute_sql("SELECT count(*) FROM customers")
        return int(rows[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    _dlt()  # fail early, before seeding, when dlt is missing
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        crm, erp = FakeCRM(), FakeERP()
        ids = seed(crm, args.records)
        nested, flat = DltLoad(workdir, "nested", flat=False), DltLoad(workdir, "flat", flat=True)
        state = open_state(f"sqlite:///{workdir}/peers-state.db", create=True)
        engine = SyncEngine(
            crm=FullReadCRMAdapter(crm, page_size=PAGE),
            erp=FullReadERPAdapter(erp, page_size=PAGE),
            state=state,
            batch_size=PAGE,
        )

        def sync() -> int:
            return engine.run(["customer"]).entity("customer").erp.created

        def full_read() -> int:
            rep = engine.run(["customer"]).entity("customer")
            return rep.crm.pulled + rep.erp.pulled

        rows: list[tuple[str, str, int, float]] = []
        rows.append(
            (
                "initial",
                "dlt merge into DuckDB, nested rows, parquet",
                *measured(lambda: nested.load(crm)),
            )
        )
        rows.append(
            (
                "initial",
                "dlt merge into DuckDB, flat rows, parquet",
                *measured(lambda: flat.load(crm)),
            )
        )
        rows.append(("initial", "crmerp initial sync (SQLite state)", *measured(sync)))
        echo_records, echo_cpu = measured(full_read)  # the engine's own creates, read once
        change_one_percent(crm, erp, ids)
        rows.append(
            ("full", "dlt full reload, nested rows (merge)", *measured(lambda: nested.load(crm)))
        )
        rows.append(
            ("full", "dlt full reload, flat rows (merge)", *measured(lambda: flat.load(crm)))
        )
        rows.append(("full", "crmerp full read of both sides, 1% changed", *measured(full_read)))
        state.close()
    report(args.records, rows, echo_records, echo_cpu)


def report(
    records: int, rows: list[tuple[str, str, int, float]], echo_records: int, echo_cpu: float
) -> None:
    print(f"{records:,} generated customers (benchmarks/sync.py's seed); CPU = user+sys")
    titles = {
        "initial": "initial load",
        "full": "full read after 1% changed on each side (no change feed)",
    }
    for section, title in titles.items():
        mine = [r for r in rows if r[0] == section]
        crmerp = next(r for r in mine if r[1].startswith("crmerp"))
        crmerp_rate = crmerp[2] / crmerp[3]
        print(f"\n{title}")
        print(f"  {'':46} {'records':>9} {'CPU s':>8} {'records/CPU-s':>14} {'crmerp/this':>12}")
        for _section, name, count, cpu in mine:
            rate = count / cpu
            ratio = "" if name.startswith("crmerp") else f"{crmerp_rate / rate:.2f}x"
            print(f"  {name:46} {count:>9,} {cpu:>8.2f} {rate:>14,.0f} {ratio:>12}")
    print(
        f"\n(between the two, crmerp ran once more, reading {echo_records:,} records in "
        f"{echo_cpu:.2f} CPU s: the ERP records it created have no raw hash until read once)"
    )


if __name__ == "__main__":
    sys.exit(main())
