"""What a new user trips over: usage errors, state trouble, and what the output looks like."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crmerp.adapters import ENTITIES
from crmerp.cli import ExitCode
from crmerp.cli._seed import Company
from crmerp.testing import FakeCRM, FakeERP
from tests.cli.conftest import CONFIG, Invoke
from tests.cli.test_help import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def _words(text: str) -> str:
    """``text`` without rich's box drawing and line breaks, for phrase checks."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def _rename_both(folder: Path, company: Company) -> None:
    crm, erp = FakeCRM(folder / "crm.json"), FakeERP(folder / "erp.json")
    crm_id, erp_id = company.pairs[0]
    crm.edit("Account", crm_id, Name="Renamed in the CRM")
    erp.edit("party.party", int(erp_id), name="Renamed in the ERP")
    crm.save()
    erp.save()


# --- usage errors: exit 2, in words, with the next step ------------------------------------


def test_an_unknown_entity_is_a_usage_error_naming_the_right_one(
    synced: Company, invoke: Invoke
) -> None:
    result = invoke("sync", "-e", "customers")

    assert result.exit_code == ExitCode.USAGE
    assert "did you mean 'customer'?" in _words(result.stderr)
    assert "[engine-entity]" not in result.output
    assert "['" not in result.output


def test_the_command_knows_the_same_entities_as_the_library() -> None:
    from crmerp.cli._commands import ENTITY_NAMES

    assert tuple(ENTITIES) == ENTITY_NAMES


def test_retrying_a_quarantine_id_that_does_not_exist_says_so(
    synced: Company, invoke: Invoke
) -> None:
    result = invoke("quarantine", "retry", "99")

    assert result.exit_code == ExitCode.USAGE
    assert "no quarantined record 99" in result.stderr
    assert "crmerp quarantine list" in result.stderr
    assert "put back in line" not in result.output


def test_resolving_twice_says_already_resolved(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    _rename_both(folder, synced)
    assert invoke("sync").exit_code == ExitCode.CONFLICTS
    (conflict,) = _json(invoke("conflicts", "list", "--json"))
    assert invoke("conflicts", "resolve", str(conflict["id"]), "--pick", "crm").exit_code == 0

    again = invoke("conflicts", "resolve", str(conflict["id"]), "--pick", "crm")
    unknown = invoke("conflicts", "resolve", "77", "--pick", "crm")

    assert again.exit_code == unknown.exit_code == ExitCode.USAGE
    assert f"conflict {conflict['id']} is already resolved" in again.stderr
    assert "no conflict 77" in unknown.stderr
    assert "[resolve" not in again.stderr + unknown.stderr


# --- state trouble: named, with the next step ------------------------------------------------


def test_a_state_in_a_missing_folder_names_the_folder_and_the_config_line(
    company: Company, invoke: Invoke
) -> None:
    Path("crmerp.toml").write_text(CONFIG.replace("state.db", "nowhere/state.db"))

    result = invoke("init")

    assert result.exit_code == ExitCode.FAILURE
    message = _words(result.stderr)
    assert "nowhere" in message
    assert "does not exist" in message
    assert "crmerp.toml:2" in message
    assert "unable to open database file" not in message


def test_a_corrupt_state_says_what_to_do_without_sqlites_dump(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    with sqlite3.connect(folder / "state.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((folder / "state.db").read_bytes())
    for offset in range(4096, len(data), 997):
        data[offset] ^= 0x5A
    (folder / "state.db").write_bytes(bytes(data))

    result = invoke("status")

    assert result.exit_code == ExitCode.FAILURE
    message = _words(result.stderr)
    assert "state.db" in message
    assert "crmerp state rebaseline" in message or "crmerp init --rebaseline" in message
    assert len(result.stderr.splitlines()) < 8, result.stderr


def test_a_lost_state_file_is_rebaselined_and_the_sync_goes_on(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    customers = len(FakeERP(folder / "erp.json").find("party.party"))
    (folder / "state.db").unlink()

    assert invoke("sync").exit_code == ExitCode.FAILURE  # missing: never a first run
    stuck = invoke("init")
    assert stuck.exit_code == ExitCode.FAILURE
    assert "crmerp state rebaseline" in _words(stuck.stderr)

    done = invoke("state", "rebaseline", "--json")
    assert done.exit_code == 0
    assert _json(done)["rebaselined"] is True
    assert invoke("sync").exit_code in (ExitCode.OK, ExitCode.QUARANTINE)
    assert len(FakeERP(folder / "erp.json").find("party.party")) == customers
    assert _json(invoke("state", "rebaseline", "--json"))["rebaselined"] is False


def test_init_rebaseline_starts_a_lost_state_anew_in_one_step(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    (folder / "state.db").unlink()

    assert invoke("init", "--rebaseline").exit_code == 0
    assert invoke("sync").exit_code in (ExitCode.OK, ExitCode.QUARANTINE)


# --- how output and help look ------------------------------------------------------------------


def test_status_json_holds_reports_as_objects_and_times_with_offsets(
    synced: Company, invoke: Invoke
) -> None:
    (run, *_) = _json(invoke("status", "--json"))["status"]["runs"]

    assert isinstance(run["report"], dict)
    assert run["report"]["run_id"] == run["run_id"]
    assert datetime.fromisoformat(run["started_at"]).utcoffset() is not None
    assert datetime.fromisoformat(run["finished_at"]).utcoffset() is not None


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crmerp")
def test_help_shows_no_type_after_flags(path: tuple[str, ...], invoke: Invoke) -> None:
    text = invoke(*path, "--help").stdout

    assert "<bool>" not in text
    assert "list[str]" not in text


def test_errors_are_shown_under_their_public_names(company: Company, invoke: Invoke) -> None:
    result = invoke("sync", "--debug")  # no state yet

    assert "crmerp.StateMissing" in result.stderr
    assert "crmerp._errors" not in result.stderr


def test_the_missing_config_error_points_at_a_page_that_exists(
    folder: Path, invoke: Invoke
) -> None:
    from crmerp.cli._config import CONFIG_DOCS

    result = invoke("status")

    assert CONFIG_DOCS in _words(result.stderr)
    section, page, heading = CONFIG_DOCS.split(" > ")
    nav = (ROOT / "mkdocs.yml").read_text()
    found = re.search(rf"- {re.escape(page)}: (\S+)", nav)
    assert found
    assert f"- {section}:" in nav
    assert f"## {heading}\n" in (ROOT / "docs" / found.group(1)).read_text()


def test_the_demo_counts_its_own_echoes_and_explains_only_what_it_shows(
    folder: Path, invoke: Invoke
) -> None:
    text = invoke("demo").stdout
    day2 = text[text.index("the second sync") :]
    header = day2[: day2.index("customer ")]

    assert "own" in header
    assert "echo" in header
    (row,) = [line for line in day2.splitlines() if line.startswith(" customer ")]
    assert int(row.split()[3]) > 0  # the engine's own first-day writes, read back
    assert "Parked conflicts" in day2
    assert "match:" not in day2  # the demo parks field conflicts only


def test_serve_stops_in_the_terminal_when_the_config_is_wrong(folder: Path, invoke: Invoke) -> None:
    result = invoke("serve")  # no crmerp.toml: no server may start

    assert result.exit_code == ExitCode.FAILURE
    assert "no config file" in result.stderr
