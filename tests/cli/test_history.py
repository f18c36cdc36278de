"""``crmerp history`` and ``sync --json --detail``: why a field has its value."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from crmerp.cli import ExitCode
from crmerp.cli._seed import Company
from crmerp.testing import FakeCRM, FakeERP
from tests.cli.conftest import Invoke


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def _rename_in_crm(folder: Path, crm_id: str, name: str) -> str:
    crm = FakeCRM(folder / "crm.json")
    before = str(crm.read("Account", crm_id)["Name"])
    crm.edit("Account", crm_id, Name=name)
    crm.save()
    return before


def test_history_tells_the_old_and_new_value_where_it_came_from_and_why(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    crm_id, erp_id = synced.pairs[0]
    before = _rename_in_crm(folder, crm_id, "Lehmann Kaffee GmbH")
    run_id = _json(invoke("sync", "--json"))["report"]["run_id"]

    found = _json(invoke("history", "customer", crm_id, "--json"))

    latest = found["changes"][0]
    assert (latest["field"], latest["old"], latest["new"]) == (
        "name",
        before,
        "Lehmann Kaffee GmbH",
    )
    assert (latest["origin"], latest["rule"], latest["run_id"]) == ("crm", "only-change", run_id)
    assert datetime.fromisoformat(latest["at"]).utcoffset() is not None
    assert found["changes"][-1]["rule"] == "first-seen"  # oldest last
    assert found["native_ids"] == {"fake-crm": crm_id, "fake-erp": erp_id}
    by_erp = _json(invoke("history", "customer", erp_id, "--json"))
    by_global = _json(invoke("history", "customer", found["global_id"], "--json"))
    assert by_erp == by_global == found


def test_history_reads_as_sentences_and_newest_first(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    crm_id, _ = synced.pairs[0]
    _rename_in_crm(folder, crm_id, "First Rename GmbH")
    invoke("sync")
    _rename_in_crm(folder, crm_id, "Second Rename GmbH")
    invoke("sync")

    text = invoke("history", "customer", crm_id, env={"COLUMNS": "200"}).stdout

    assert "only one side changed it" in text
    newest, older = [line for line in text.splitlines() if "Rename GmbH" in line]
    assert newest.index("First Rename") < newest.index("Second Rename")  # was, became
    assert "Second Rename" not in older
    assert "first sync of the record" in text


def test_a_rule_that_chose_between_the_systems_at_first_sight_is_recorded(
    synced: Company, invoke: Invoke
) -> None:
    rules = set()
    for crm_id, _ in synced.pairs:
        rules |= {
            c["rule"] for c in _json(invoke("history", "customer", crm_id, "--json"))["changes"]
        }

    assert any(rule.startswith("owner:") for rule in rules), rules


def test_history_of_an_unknown_record_is_a_usage_error(synced: Company, invoke: Invoke) -> None:
    result = invoke("history", "customer", "nope")

    assert result.exit_code == ExitCode.USAGE
    assert "no customer 'nope'" in result.stderr
    assert "[history" not in result.stderr


def test_sync_json_detail_lists_each_record_it_changed(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    crm_id, erp_id = synced.pairs[1]
    erp = FakeERP(folder / "erp.json")
    erp.edit("party.party", int(erp_id), payment_term="net 45")
    erp.save()

    plain = _json(invoke("sync", "--json"))
    assert "changes" not in plain
    erp.edit("party.party", int(erp_id), payment_term="net 60")
    erp.save()
    detailed = _json(invoke("sync", "--json", "--detail"))

    (record,) = detailed["changes"]
    assert record["entity"] == "customer"
    assert record["native_ids"]["fake-crm"] == crm_id
    (field,) = record["fields"]
    assert (field["field"], field["old"], field["new"]) == ("payment_terms", "net 45", "net 60")
    assert (field["origin"], field["run_id"]) == ("erp", detailed["report"]["run_id"])
