"""States written by an earlier release open, migrate, and keep working."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from crmerp.state import SCHEMA_VERSION, open_state
from crmerp.state._store import set_meta
from crmerp.sync import Rules, SyncEngine, Unit
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

V1 = Path(__file__).parent / "data" / "v1"

V1_SINCE = (
    "ALTER TABLE crmerp_intents DROP COLUMN unit",
    "ALTER TABLE crmerp_inbox DROP COLUMN status",
    "ALTER TABLE crmerp_inbox DROP COLUMN version",
    "ALTER TABLE crmerp_inbox DROP COLUMN raw_hash",
    "ALTER TABLE crmerp_links DROP COLUMN raw_hash",
    "ALTER TABLE crmerp_intents DROP COLUMN items",
)
"""What puts the tables of a new state back in their version 1 shape (beside the leases)."""


def _copy_v1(tmp_path: Path) -> Path:
    for name in ("state-v1.db", "state-v1.db.generation", "crm.json", "erp.json"):
        shutil.copy(V1 / name, tmp_path / name)
    return tmp_path


def test_a_v1_state_migrates_and_a_run_on_its_systems_writes_nothing(tmp_path: Path) -> None:
    where = _copy_v1(tmp_path)
    path = where / "state-v1.db"
    # What a v1 worker may leave behind: its scope lease and a pending intent.
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO crmerp_leases (scope, holder, expires_at) "
            "VALUES ('default', 'old-worker', '2999-01-01 00:00:00.000000')"
        )
        db.execute(
            "INSERT INTO crmerp_intents (scope, run_id, entity, system, global_id, kind, "
            "reference, native_id, payload_hash, status, created_at) VALUES ('default', 'r', "
            "'customer', 'fake-erp', 'g', 'update', 'ref', '1', '', 'pending', "
            "'2025-01-01 00:00:00.000000')"
        )
    crm, erp = FakeCRM(where / "crm.json"), FakeERP(where / "erp.json")
    with open_state(f"sqlite:///{path}") as state:
        assert state.meta("schema_version") == str(SCHEMA_VERSION)
        with state.transaction("default") as tx:
            columns = {c["name"] for c in inspect(tx.session.conn).get_columns("crmerp_leases")}
            assert {"unit", "instance", "token"} <= columns
            (intent,) = tx.intents.open()
            assert intent.unit == Unit("default", "customer").key
            links_before = tx.links.count()
            assert tx.leases.all() == []  # a v1 lease names no unit: not carried over
        engine = SyncEngine(
            crm=FakeCRMAdapter(crm),
            erp=FakeERPAdapter(erp),
            state=state,
            rules=Rules.default(),
            worker_id="fixture",
        )
        report = engine.run()
        assert report.writes == 0
        assert report.recovered_intents == 1
        with state.transaction("default") as tx:
            assert tx.links.count() == links_before
            assert tx.intents.open() == []
            assert {lease.token for lease in tx.leases.all()} == {1}
        assert engine.run().writes == 0


def test_a_v1_shaped_postgresql_state_migrates(postgres_url: str) -> None:
    """The same step on PostgreSQL, from tables put back in their version 1 shape."""
    with open_state(postgres_url, create=True) as state, state.transaction("default") as tx:
        tx.session.conn.execute(text("DROP TABLE crmerp_leases"))
        tx.session.conn.execute(
            text(
                "CREATE TABLE crmerp_leases (scope VARCHAR(128) PRIMARY KEY, "
                "holder VARCHAR(128) NOT NULL, expires_at TIMESTAMP WITH TIME ZONE NOT NULL)"
            )
        )
        for added in V1_SINCE:
            tx.session.conn.execute(text(added))
        tx.session.conn.execute(
            text(
                "INSERT INTO crmerp_intents (scope, run_id, entity, system, global_id, kind, "
                "reference, native_id, payload_hash, status, created_at) VALUES ('eu', 'r', "
                "'order', 'fake-erp', 'g', 'create', 'ref', NULL, '', 'pending', now())"
            )
        )
        set_meta(tx.session, "schema_version", "1")
    with open_state(postgres_url) as state, state.transaction("eu") as tx:
        assert state.meta("schema_version") == str(SCHEMA_VERSION)
        (intent,) = tx.intents.open()
        assert intent.unit == Unit("eu", "order").key
        assert tx.leases.acquire("w", timedelta(minutes=5), unit=intent.unit, instance="w@a") == 1
