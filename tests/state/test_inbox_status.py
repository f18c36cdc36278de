"""The inbox says where a change stands in a status column, migrated from note prefixes."""

import shutil
import sqlite3
from pathlib import Path

from crmerp.state import SCHEMA_VERSION, InboxRow, InboxStatus, open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

V1 = Path(__file__).parent / "data" / "v1"


def _copy_v1(tmp_path: Path) -> Path:
    for name in ("state-v1.db", "state-v1.db.generation", "crm.json", "erp.json"):
        shutil.copy(V1 / name, tmp_path / name)
    return tmp_path / "state-v1.db"


def test_a_v1_state_migrates_and_syncs_on_without_writing(tmp_path: Path) -> None:
    path = _copy_v1(tmp_path)
    state = open_state(f"sqlite:///{path}")
    assert state.meta("schema_version") == str(SCHEMA_VERSION)
    crm, erp = FakeCRM(tmp_path / "crm.json"), FakeERP(tmp_path / "erp.json")
    engine = SyncEngine(crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state)
    with state.transaction("default") as tx:
        links_before = tx.links.count()
    report = engine.run()
    assert report.writes == 0
    assert len(crm.find("Account")) == 2
    assert len(erp.find("party.party")) == 2
    with state.transaction("default") as tx:
        assert tx.links.count() == links_before
    state.close()


def test_held_rows_of_a_v1_state_keep_their_hold_as_a_status(tmp_path: Path) -> None:
    path = _copy_v1(tmp_path)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO crmerp_inbox (scope, entity, system, native_id, global_id, data, deleted, "
            "new, attempts, note) VALUES ('default', 'customer', ?, ?, ?, '{}', 0, 0, 1, ?)",
            [
                ("fake-crm", "9", "g-9", "review:12"),
                ("fake-erp", "8", "g-8", "failed: fake-erp: refused"),
                ("fake-crm", "7", "g-7", "waiting for customer 3 from fake-crm"),
            ],
        )
    state = open_state(f"sqlite:///{path}")
    with state.transaction("default") as tx:
        rows = {r.native_id: r for r in tx.inbox.waiting("customer")}
        pending = {r.native_id for r in tx.inbox.groups("customer", None, 10)}
    assert (rows["9"].status, rows["9"].note) == (InboxStatus.REVIEW, "match review 12")
    assert (rows["8"].status, rows["8"].note) == (InboxStatus.FAILED, "fake-erp: refused")
    assert rows["7"].status is InboxStatus.PENDING
    assert pending == {"7"}  # held rows are not merged until released
    with state.transaction("default") as tx:
        tx.inbox.retry_failed("customer", "fake-erp: refused")
        assert {r.native_id for r in tx.inbox.groups("customer", None, 10)} == {"7", "8"}
    state.close()


def test_a_review_hold_survives_restaging_only_when_asked(state_url: str) -> None:
    with open_state(state_url, create=True) as state, state.transaction("s") as tx:
        row = InboxRow("customer", "crm", "A-1", "g-1", '{"name":"A"}', None, new=True)
        tx.inbox.stage([row])
        tx.inbox.assign("customer", [("crm", "A-1", "g-1")], review=3)
        tx.inbox.stage([row], keep_reviews=True)
        (held,) = tx.inbox.waiting("customer")
        assert (held.status, held.note) == (InboxStatus.REVIEW, "match review 3")
        tx.inbox.stage([row])
        (staged,) = tx.inbox.waiting("customer")
        assert staged.status is InboxStatus.PENDING
