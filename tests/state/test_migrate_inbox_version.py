"""A state written by the release before versions (schema 1) opens, migrates and syncs on.

The fixture in ``tests/state/data/v1`` was written by crmerp at 6e492e2 (see its
``make_fixture.py``); each test works on a copy of it and of its two fake systems.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter

DATA = Path(__file__).parent / "data" / "v1"


def _copy(tmp_path: Path) -> Path:
    for name in ("state-v1.db", "state-v1.db.generation", "crm.json", "erp.json"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _links(db: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT entity, system, native_id, global_id FROM crmerp_links ORDER BY 1, 2, 3"
        ).fetchall()


def _engine(where: Path) -> SyncEngine:
    return SyncEngine(
        crm=FakeCRMAdapter(path=where / "crm.json"),
        erp=FakeERPAdapter(path=where / "erp.json"),
        state=open_state(f"sqlite:///{where / 'state-v1.db'}"),
        worker_id="fixture",
    )


def test_a_v1_state_migrates_and_its_next_run_writes_nothing_and_keeps_its_links(
    tmp_path: Path,
) -> None:
    where = _copy(tmp_path)
    before = _links(where / "state-v1.db")
    assert before, "the fixture has links"
    engine = _engine(where)
    try:
        assert engine.run().writes == 0
    finally:
        engine.state.close()
    assert _links(where / "state-v1.db") == before
    with sqlite3.connect(where / "state-v1.db") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(crmerp_inbox)")}
        version = conn.execute(
            "SELECT value FROM crmerp_meta WHERE key = 'schema_version'"
        ).fetchone()
    assert "version" in columns
    assert int(version[0]) >= 2


def test_after_the_migration_an_edit_is_written_with_the_version_it_was_based_on(
    tmp_path: Path,
) -> None:
    where = _copy(tmp_path)
    engine = _engine(where)
    try:
        crm = engine.crm
        erp = engine.erp
        assert isinstance(crm, FakeCRMAdapter)
        assert isinstance(erp, FakeERPAdapter)
        account = crm.crm.find("Account", Name="Acme GmbH")[0]["Id"]
        crm.crm.edit("Account", account, Payment_Terms__c="net 45")
        party = erp.erp.find("party.party", name="Acme GmbH")[0]["id"]
        report = engine.run(["customer"])
        assert report.entity("customer").erp.updated == 1
        assert erp.erp.read("party.party", party)["payment_term"] == "net 45"  # type: ignore[index]
        assert engine.run(["customer"]).writes == 0
    finally:
        engine.state.close()
