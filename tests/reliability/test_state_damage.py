"""Promise 5: damaged, missing or stale state fails loudly, never as a first run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crmerp import StateCorrupt, StateMissing
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _engine(crm: FakeCRM, erp: FakeERP, url: str, **open_options: bool) -> SyncEngine:
    return SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=open_state(url, **open_options),
        worker_id="w",
    )


def _synced(tmp_path: Path, accounts: int = 10) -> tuple[FakeCRM, FakeERP, Path, str]:
    crm, erp = FakeCRM(), FakeERP()
    for n in range(accounts):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    _engine(crm, erp, url, create=True).run()
    _checkpoint(path)
    return crm, erp, path, url


def test_a_deleted_state_file_is_not_taken_for_a_first_run(tmp_path: Path) -> None:
    crm, erp, path, url = _synced(tmp_path)
    path.unlink()
    with pytest.raises(StateMissing):
        _engine(crm, erp, url)
    assert len(erp.find("party.party")) == 10


@pytest.mark.parametrize("damage", ["truncated", "zero-filled", "bit-flipped"])
def test_a_damaged_state_file_is_refused(tmp_path: Path, damage: str) -> None:
    crm, erp, path, url = _synced(tmp_path, accounts=200)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "zero-filled":
        data = bytearray(len(data))
    else:
        for offset in range(4096, len(data), 997):
            data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(StateCorrupt):
        _engine(crm, erp, url).run()
    assert len(erp.find("party.party")) == 200


def test_a_restored_backup_needs_an_explicit_rebaseline_and_then_duplicates_nothing(
    tmp_path: Path,
) -> None:
    crm, erp, path, url = _synced(tmp_path)
    backup = path.read_bytes()
    for n in range(5):
        crm.create("Account", Name=f"Later {n}", Email__c=f"later{n}@example.com")
    gone = crm.find("Account")[0]
    crm.delete("Account", gone["Id"])
    _engine(crm, erp, url).run()
    _checkpoint(path)
    path.write_bytes(backup)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StateCorrupt, match="restored from a backup"):
        _engine(crm, erp, url)
    engine = _engine(crm, erp, url, rebaseline=True)
    engine.run()
    engine.run()
    names = sorted(p["name"] for p in erp.find("party.party"))
    assert len(names) == len(set(names)) == 15, "the rebaselined run made duplicates"
    assert len(crm.find("Account")) == 14
    assert gone["Name"] not in {a["Name"] for a in crm.find("Account")}, "a delete came back"
    assert engine.run().writes == 0


CHILD = textwrap.dedent("""
    import os, signal, sys
    from crmerp.state import open_state
    from crmerp.sync import SyncEngine
    from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
    crm, erp = FakeCRM(sys.argv[2]), FakeERP(sys.argv[3])
    point, occurrence = sys.argv[4], int(sys.argv[5])
    seen = 0
    def die(name):
        global seen
        if name == point:
            seen += 1
            if seen == occurrence:
                os.kill(os.getpid(), signal.SIGKILL)
    state = open_state(sys.argv[1], create=True)
    SyncEngine(crm=FakeCRMAdapter(crm, path=None), erp=FakeERPAdapter(erp), state=state,
               worker_id="w", boundary=die, batch_size=50).run()
    crm.save(); erp.save()
""")


@pytest.mark.parametrize(
    ("point", "occurrence"), [("intent.recorded", 2), ("write.answered", 1), ("state.commit", 7)]
)
def test_a_process_killed_mid_run_resumes_without_duplicates(
    tmp_path: Path, point: str, occurrence: int
) -> None:
    crm_file, erp_file = tmp_path / "crm.json", tmp_path / "erp.json"
    crm = FakeCRM(crm_file)
    for n in range(120):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    crm.save()
    FakeERP(erp_file).save()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(crm_file), str(erp_file), point, str(occurrence)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    # The killed process saved nothing of the fakes after its last write batch; what the
    # ERP holds is what it acknowledged before the kill. Resume on the same state.
    crm, erp = FakeCRM(crm_file), FakeERP(erp_file)
    engine = _engine(crm, erp, url)
    engine.run()
    engine.run()
    names = [p["name"] for p in erp.find("party.party")]
    assert sorted(names) == sorted(f"Customer {n}" for n in range(120))
    assert engine.run().writes == 0
    assert os.path.exists(url.removeprefix("sqlite:///"))
