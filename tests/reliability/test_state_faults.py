"""Promises 2 and 5 when the state database itself fails during a run.

Each fault strikes inside the transaction that commits a batch the ERP has
already written (the remote write is done, its answer is in hand): a connection
killed from the server (``pg_terminate_backend``), a restart of a PostgreSQL
cluster the test owns, a SQLite disk that fills up (a small tmpfs; where the
test cannot mount one, a ``max_page_count`` limit). The run stops with a named
error, nothing of that transaction is committed, and the next run settles what
was written from its intents: one ERP party per account, all linked, and the
run after that writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from crmerp import StateError, TransientError
from crmerp.state import StateStore, open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter
from tests.conftest import POSTGRES_DSN, require_postgres

ACCOUNTS = 12


def _company() -> tuple[FakeCRM, FakeERP]:
    crm, erp = FakeCRM(), FakeERP()
    for n in range(ACCOUNTS):
        crm.create("Account", Name=f"Customer {n}", Email__c=f"c{n}@example.com")
    return crm, erp


def _engine(crm: FakeCRM, erp: FakeERP, state: StateStore, **options: Any) -> SyncEngine:
    return SyncEngine(
        crm=FakeCRMAdapter(crm), erp=FakeERPAdapter(erp), state=state, batch_size=5, **options
    )


def _strike_in_the_commit(state: StateStore, strike: Callable[[], None]) -> Callable[[str], None]:
    """A boundary hook: once the first ERP batch is answered, ``strike`` runs just
    before the next statement of the state, inside the commit's transaction."""
    armed: list[bool] = []

    def before(*_args: Any) -> None:
        if armed == [True]:
            armed.append(False)
            strike()

    event.listen(state.engine, "before_cursor_execute", before)

    def boundary(name: str) -> None:
        if name == "write.answered" and not armed:
            armed.append(True)

    return boundary


def _check_settled(crm: FakeCRM, erp: FakeERP, state: StateStore) -> None:
    report = _engine(crm, erp, state).run()
    assert report.stopped is None
    refs = [str(p["crmerp_ref"]) for p in erp.find("party.party")]
    assert len(refs) == ACCOUNTS
    assert len(set(refs)) == ACCOUNTS, "a party was created twice"
    with state.transaction("default") as tx:
        natives = list(tx.links.native_ids("customer", "fake-erp"))
    assert len(natives) == ACCOUNTS
    assert _engine(crm, erp, state).run().writes == 0


# --- PostgreSQL: a connection killed from the server ---------------------------------------


@pytest.fixture
def named_postgres_url(postgres_url: str) -> tuple[str, str]:
    """The test's PostgreSQL state URL, its connections named so that only they are killed."""
    name = f"crmerp_f_{uuid.uuid4().hex[:10]}"
    return f"{postgres_url}&application_name={name}", name


@pytest.mark.postgres
def test_a_state_connection_killed_from_the_server_mid_commit(
    named_postgres_url: tuple[str, str],
) -> None:
    import psycopg

    url, name = named_postgres_url
    crm, erp = _company()
    state = open_state(url, create=True)

    def kill() -> None:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()
        assert killed is not None
        assert killed[0] >= 1

    engine = _engine(crm, erp, state, boundary=_strike_in_the_commit(state, kill))
    with pytest.raises(TransientError, match="state connection lost"):
        engine.run()
    assert erp.find("party.party"), "the fault struck before anything was written"
    _check_settled(crm, erp, state)
    state.close()


# --- PostgreSQL: a restart of a cluster the test owns ------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / "pg_ctl").exists() and (root / "initdb").exists():
            return root
    return None


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, a
    free port), and a function that restarts it; stopped and removed afterwards.

    It needs the PostgreSQL server binaries and root (to run them as ``postgres``);
    without them the test skips, or fails under ``CRMERP_REQUIRE_POSTGRES=1``.
    """
    require_postgres()
    binaries = _pg_bin()
    problem = None
    if binaries is None:
        problem = "no PostgreSQL server binaries under /usr/lib/postgresql"
    elif os.geteuid() != 0 or shutil.which("runuser") is None:
        problem = "owning a PostgreSQL cluster needs root (to run it as the postgres user)"
    if problem is not None:
        if os.environ.get("CRMERP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CRMERP_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)
    assert binaries is not None
    home = Path(tempfile.mkdtemp(prefix="crmerp-pg-"))
    shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()

    def pg(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    ctl = str(binaries / "pg_ctl")
    pg(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg(ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            lambda: pg(
                ctl, "-D", str(data), "-l", str(home / "log"), "-m", "fast", "-w", "restart"
            ),
        )
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg(ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.postgres
def test_a_postgresql_restart_during_a_commit(
    own_cluster: tuple[str, Callable[[], None]],
) -> None:
    url, restart = own_cluster
    crm, erp = _company()
    state = open_state(url, create=True)
    engine = _engine(crm, erp, state, boundary=_strike_in_the_commit(state, restart))
    with pytest.raises(TransientError, match="state connection lost"):
        engine.run()
    assert erp.find("party.party"), "the restart struck before anything was written"
    _check_settled(crm, erp, state)
    state.close()


# --- SQLite: the disk fills up -------------------------------------------------------------


class SmallDisk:
    """Where the SQLite state lives, and how to fill that place up and free it.

    A 4 MB tmpfs where the test may mount one (as root); elsewhere a plain
    directory, and filling it sets the state's ``PRAGMA max_page_count`` to the
    pages it has, which SQLite answers the same way ("database or disk is full").
    """

    def __init__(self, where: Path, mounted: bool) -> None:
        self.where = where
        self.mounted = mounted
        self.full = False

    def watch(self, state: StateStore) -> None:
        """Apply the page limit to ``state``'s connections (without a tmpfs)."""
        if self.mounted:
            return

        @event.listens_for(state.engine, "before_cursor_execute")
        def limit(_conn: Any, cursor: Any, *_args: Any) -> None:
            raw = cursor.connection
            pages = raw.execute("PRAGMA page_count").fetchone()[0] if self.full else 1073741823
            raw.execute(f"PRAGMA max_page_count = {pages}")

    def fill(self) -> None:
        self.full = True
        if self.mounted:
            with (self.where / "filler").open("wb") as out, contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()

    def free(self) -> None:
        self.full = False
        (self.where / "filler").unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A :class:`SmallDisk` in the test's temporary directory, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)]
    mounted = os.geteuid() == 0 and subprocess.run(command, capture_output=True).returncode == 0
    try:
        yield SmallDisk(where, mounted)
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], capture_output=True)


def test_a_full_disk_under_the_sqlite_state_mid_commit(small_disk: SmallDisk) -> None:
    crm, erp = _company()
    state = open_state(f"sqlite:///{small_disk.where / 'state.db'}", create=True)
    small_disk.watch(state)
    engine = _engine(crm, erp, state, boundary=_strike_in_the_commit(state, small_disk.fill))
    with pytest.raises(StateError, match="state storage is full"):
        engine.run()
    assert erp.find("party.party"), "the disk filled before anything was written"
    small_disk.free()
    _check_settled(crm, erp, state)
    state.close()
