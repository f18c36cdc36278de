"""``crmerp watch`` as a process: SIGTERM in the middle of a batch finishes it,
releases the lease and exits 0; a killed one loses nothing; the next start writes
nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import crmerp
from crmerp.cli._seed import seed
from crmerp.testing import FakeCRM, FakeERP
from tests.cli.conftest import CONFIG, Invoke

SOURCES = str(Path(crmerp.__file__).parent.parent)


@pytest.fixture
def bigger(folder: Path, invoke: Invoke) -> Path:
    """A company large enough that its first batch takes a while, after `crmerp init`."""
    crm, erp = FakeCRM(folder / "crm.json"), FakeERP(folder / "erp.json")
    seed(crm, erp, customers=150)
    crm.save()
    erp.save()
    (folder / "crmerp.toml").write_text(CONFIG)
    assert invoke("init").exit_code == 0
    return folder


def _watch(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SOURCES}
    env.pop("CRMERP_CONFIG", None)
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "crmerp.cli", "watch"),
            *("--heartbeat", "3600", "--reconcile-every", "0", "--log-format", "json"),
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until_first_write(child: subprocess.Popen[str]) -> list[dict[str, object]]:
    """Log records up to the first write the child reports (then it is mid-batch)."""
    assert child.stderr is not None
    seen: list[dict[str, object]] = []
    for line in child.stderr:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
        seen.append(record)
        if record.get("kind") in {"create", "update"}:
            return seen
    raise AssertionError(f"the watcher ended before writing: {seen}")


def _no_duplicates(folder: Path) -> None:
    crm, erp = FakeCRM(folder / "crm.json"), FakeERP(folder / "erp.json")
    for system, table, field in (
        (crm, "Account", "External_Id__c"),
        (erp, "party.party", "crmerp_ref"),
    ):
        references = Counter(r.get(field) for r in system.find(table) if r.get(field) is not None)
        assert not [ref for ref, n in references.items() if n > 1], f"duplicates in {table}"


def test_sigterm_in_the_middle_of_a_batch_finishes_it_and_exits_0(
    bigger: Path, invoke: Invoke
) -> None:
    with _watch(bigger) as child:
        _until_first_write(child)
        child.send_signal(signal.SIGTERM)
        assert child.stderr is not None
        rest = child.stderr.read()  # the buffered reader: what the loop above left in it too
        assert child.wait(timeout=300) == 0, rest
    records = [json.loads(line) for line in rest.splitlines()]
    messages = [r["message"] for r in records]
    assert any(m.startswith("catch-up batch") for m in messages), "the batch did not finish"
    assert messages[-1] == "stopped watching"
    leases = json.loads(invoke("status", "--json").stdout)["status"]["leases"]
    assert leases
    assert all(lease["expires_at"].startswith("1970") for lease in leases.values()), leases
    # The next start has nothing left to do and the lease is free to take.
    again = invoke("sync", "--json")
    assert json.loads(again.stdout)["writes"] == 0
    _no_duplicates(bigger)


def test_a_killed_watcher_loses_nothing_and_the_next_start_writes_nothing_twice(
    bigger: Path, invoke: Invoke
) -> None:
    with _watch(bigger) as child:
        _until_first_write(child)
        child.kill()
        assert child.wait(timeout=60) == -signal.SIGKILL
    finished = invoke("sync", "--json")  # the lease of a dead process is taken over
    assert finished.exit_code in (0, 3, 4), finished.stdout
    again = invoke("sync", "--json")
    assert json.loads(again.stdout)["writes"] == 0
    _no_duplicates(bigger)


def test_the_webhook_will_not_start_without_its_shared_secret(
    bigger: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMERP_WEBHOOK_SECRET", raising=False)
    result = invoke("watch", "--listen", "127.0.0.1:0")
    assert result.exit_code == 2
    assert "CRMERP_WEBHOOK_SECRET" in result.output
