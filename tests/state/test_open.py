import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import text

from crmerp import LeaseHeld, StateCorrupt, StateMissing, StateVersionError, UsageError
from crmerp.state import SCHEMA_VERSION, open_state
from crmerp.state._store import set_meta


def test_missing_state_is_refused_not_taken_for_a_first_run(state_url: str) -> None:
    with pytest.raises(StateMissing, match="create=True"):
        open_state(state_url)
    open_state(state_url, create=True).close()
    open_state(state_url).close()


def test_links_and_cursors_survive_reopening(state_url: str) -> None:
    with open_state(state_url, create=True) as state, state.transaction("s") as tx:
        tx.links.put([("customer", "crm", "A-1", "g-1", "h1")])
        tx.cursors.set("crm", "customer", "42")
    with open_state(state_url) as state, state.transaction("s") as tx:
        assert tx.links.by_native("customer", "crm", ["A-1", "A-2"]) == {"A-1": ("g-1", "h1")}
        assert tx.links.by_global("customer", ["g-1"]) == {"g-1": {"crm": ("A-1", "h1")}}
        assert tx.cursors.get("crm", "customer") == "42"


def test_a_newer_schema_version_is_refused(state_url: str) -> None:
    with open_state(state_url, create=True) as state, state.transaction("s") as tx:
        set_meta(tx.session, "schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(StateVersionError, match="newer"):
        open_state(state_url)


def test_dropped_tables_are_refused(state_url: str) -> None:
    with open_state(state_url, create=True) as state, state.transaction("s") as tx:
        tx.session.conn.execute(text("DROP TABLE crmerp_links"))
    with pytest.raises(StateCorrupt, match="crmerp_links"):
        open_state(state_url)


def test_a_second_worker_on_the_same_scope_stops_with_a_named_error(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        with state.transaction("s") as tx:
            tx.leases.acquire("worker-1", timedelta(minutes=5))
        with pytest.raises(LeaseHeld) as info, state.transaction("s") as tx:
            tx.leases.acquire("worker-2", timedelta(minutes=5))
        assert info.value.holder == "worker-1"
        with state.transaction("s") as tx:  # renewing one's own lease is fine
            tx.leases.acquire("worker-1", timedelta(minutes=5))
            tx.leases.release("worker-1")
        with state.transaction("s") as tx:
            tx.leases.acquire("worker-2", timedelta(minutes=5))


def test_an_expired_lease_can_be_taken_over(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        with state.transaction("s") as tx:
            tx.leases.acquire("crashed", timedelta(seconds=-1))
        with state.transaction("s") as tx:
            tx.leases.acquire("worker-2", timedelta(minutes=5))
            assert tx.leases.holder() == "worker-2"


@pytest.mark.parametrize("damage", ["zeros", "truncate", "garbage"])
def test_a_damaged_sqlite_file_is_refused(tmp_path, damage: str) -> None:
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    with open_state(url, create=True) as state, state.transaction("s") as tx:
        tx.links.put([("customer", "crm", f"A-{i}", f"g-{i}", None) for i in range(500)])
    _checkpoint(path)
    size = path.stat().st_size
    data = path.read_bytes()
    if damage == "zeros":
        path.write_bytes(b"\0" * size)
    elif damage == "truncate":
        path.write_bytes(data[: size // 3])
    else:
        path.write_bytes(data[:100] + b"\xff" * 4096 + data[4196:])
    with pytest.raises(StateCorrupt):
        open_state(url)


def test_a_restored_older_backup_is_refused_unless_rebaselined(tmp_path) -> None:
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    with open_state(url, create=True) as state, state.transaction("s") as tx:
        tx.cursors.set("crm", "customer", "10")
    _checkpoint(path)
    backup = path.read_bytes()
    with open_state(url) as state, state.transaction("s") as tx:
        tx.cursors.set("crm", "customer", "20")
    _checkpoint(path)
    path.write_bytes(backup)
    with pytest.raises(StateCorrupt, match="restored from a backup"):
        open_state(url)
    with open_state(url, rebaseline=True) as state, state.transaction("s") as tx:
        assert tx.cursors.get("crm", "customer") is None  # re-read everything, explicitly
    open_state(url).close()


def test_unsupported_urls_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="sqlite:///"):
        open_state("mysql://localhost/db")


def _checkpoint(path) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.unlink()
