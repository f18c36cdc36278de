"""State rows written per record: what one sync costs the state, counted by SQLite.

    python benchmarks/state_rows.py                 # 2,000 customers, CRM -> empty ERP
    python benchmarks/state_rows.py --records 10000

SQLite counts every row an INSERT, UPDATE or DELETE changes on a connection
(``total_changes``); the state keeps one connection open, so the difference
across a run is the run's row writes. Printed per record for the initial sync,
the echo run after it and a run after 1% changed on each side. Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))

from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
from sync import change_one_percent, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        state = open_state(f"sqlite:///{folder}/state.db", create=True)
        connections: list[sqlite3.Connection] = []

        def keep(dbapi_connection: Any, _record: Any) -> None:
            connections.append(dbapi_connection)

        event.listen(state.engine, "connect", keep)
        state.engine.dispose()  # reconnect, so the listener sees the connection
        crm, erp = FakeCRM(), FakeERP()
        ids = seed(crm, args.records)
        engine = SyncEngine(crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state)

        def changes() -> int:
            return sum(c.total_changes for c in connections)

        print(f"{args.records:,} customers, CRM -> empty ERP, SQLite state")
        for label, prepare in (
            ("initial sync", None),
            ("echo run", None),
            ("after 1% changed on each side", lambda: change_one_percent(crm, erp, ids)),
        ):
            if prepare is not None:
                prepare()
            before = changes()
            report = engine.run()
            rows = changes() - before
            per = rows / args.records
            print(
                f"  {label:32} {rows:>9,} state rows written = {per:5.2f} per customer "
                f"({report.writes:,} writes)"
            )
        state.close()


if __name__ == "__main__":
    main()
