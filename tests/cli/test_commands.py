"""plan, sync, status, conflicts and quarantine on a small company, as a script sees them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crmerp.adapters import Page, register_adapter
from crmerp.cli import ExitCode
from crmerp.cli._seed import Company
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP
from tests.cli.conftest import CONFIG, Invoke


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def _rename(folder: Path, company: Company, suffix_crm: str, suffix_erp: str) -> None:
    """Both systems rename the same linked customer, differently."""
    crm, erp = FakeCRM(folder / "crm.json"), FakeERP(folder / "erp.json")
    crm_id, erp_id = company.pairs[0]
    crm.edit("Account", crm_id, Name=crm.read("Account", crm_id)["Name"] + suffix_crm)
    erp.edit(
        "party.party", int(erp_id), name=erp.read("party.party", int(erp_id))["name"] + suffix_erp
    )
    crm.save()
    erp.save()


def _break_email(folder: Path) -> str:
    crm = FakeCRM(folder / "crm.json")
    account = crm.find("Account")[-1]
    values = {k: v for k, v in account.items() if k not in crm.SYSTEM_FIELDS}
    crm.store_raw("Account", {**values, "Email__c": "no-at-sign"}, id=account["Id"])
    crm.save()
    return str(account["Id"])


def test_sync_needs_a_state_made_by_init(company: Company, invoke: Invoke) -> None:
    result = invoke("sync")

    assert result.exit_code == ExitCode.FAILURE
    assert "crmerp init" in result.stderr

    assert invoke("init").exit_code == 0
    assert invoke("sync").exit_code != ExitCode.FAILURE


def test_plan_writes_nothing_and_sync_then_converges(company: Company, invoke: Invoke) -> None:
    invoke("init")
    before = (Path("crm.json").read_text(), Path("erp.json").read_text())

    planned = _json(invoke("plan", "--json"))

    assert planned["writes"] > 0
    assert planned["report"]["planned"][0]["description"]
    assert (Path("crm.json").read_text(), Path("erp.json").read_text()) == before

    synced = _json(invoke("sync", "--json"))
    assert synced["writes"] >= planned["writes"]  # a plan cannot see children of new parents
    assert _json(invoke("sync", "--json"))["writes"] == 0
    assert _json(invoke("plan", "--json"))["writes"] == 0


def test_exit_codes_follow_conflicts_then_quarantine(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    assert invoke("sync").exit_code == ExitCode.OK

    _break_email(folder)
    assert invoke("sync").exit_code == ExitCode.QUARANTINE
    assert invoke("quarantine", "list").exit_code == ExitCode.QUARANTINE

    _rename(folder, synced, " (Zentrale)", " Holding")
    result = invoke("sync", "--json")
    assert result.exit_code == ExitCode.CONFLICTS  # conflicts win over quarantine
    assert _json(result)["exit_code"] == ExitCode.CONFLICTS
    assert invoke("status").exit_code == ExitCode.CONFLICTS


def test_a_parked_conflict_is_listed_shown_and_resolved(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    _rename(folder, synced, " (Zentrale)", " Holding")
    invoke("sync")

    listed = invoke("conflicts", "list", "--json")
    assert listed.exit_code == ExitCode.CONFLICTS
    (conflict,) = [c for c in _json(listed) if c["field"] == "name"]
    assert conflict["crm"].endswith(" (Zentrale)")
    assert conflict["erp"].endswith(" Holding")

    shown = invoke("conflicts", "show", str(conflict["id"]))
    assert shown.exit_code == 0
    assert "--pick crm" in shown.stdout
    assert conflict["erp"] in shown.stdout

    assert invoke("conflicts", "resolve", str(conflict["id"]), "--pick", "erp").exit_code == 0
    assert invoke("sync").exit_code == ExitCode.OK
    crm = FakeCRM(folder / "crm.json")
    assert crm.read("Account", synced.pairs[0][0])["Name"] == conflict["erp"]
    assert _json(invoke("conflicts", "list", "--json")) == []


def test_resolve_with_a_value_of_ones_own(folder: Path, synced: Company, invoke: Invoke) -> None:
    _rename(folder, synced, " A", " B")
    invoke("sync")
    (conflict,) = _json(invoke("conflicts", "list", "--json"))

    result = invoke("conflicts", "resolve", str(conflict["id"]), "--value", '"Kaffee Haus AG"')

    assert result.exit_code == 0
    invoke("sync")
    erp = FakeERP(folder / "erp.json")
    assert erp.read("party.party", int(synced.pairs[0][1]))["name"] == "Kaffee Haus AG"


@pytest.mark.parametrize(
    "args",
    [
        ("conflicts", "resolve", "1"),
        ("conflicts", "resolve", "1", "--pick", "both"),
        ("quarantine", "retry"),
        ("no-such-command",),
        ("sync", "--no-such-option"),
    ],
)
def test_usage_errors_exit_2(company: Company, invoke: Invoke, args: tuple[str, ...]) -> None:
    assert invoke(*args).exit_code == ExitCode.USAGE


def test_an_unknown_conflict_fails(synced: Company, invoke: Invoke) -> None:
    result = invoke("conflicts", "show", "999")

    assert result.exit_code == ExitCode.FAILURE
    assert "no conflict 999" in result.stderr


def test_quarantined_records_are_retried_once_fixed(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    account_id = _break_email(folder)
    invoke("sync")
    (item,) = _json(invoke("quarantine", "list", "--json"))
    assert item["native_id"] == account_id
    crm = FakeCRM(folder / "crm.json")
    crm.edit("Account", account_id, Email__c="fixed@example.com")
    crm.save()

    assert _json(invoke("quarantine", "retry", "--all", "--json")) == {"retried": 1}
    assert invoke("sync").exit_code == ExitCode.OK
    assert invoke("quarantine", "list").exit_code == ExitCode.OK


def test_status_reports_links_and_runs(synced: Company, invoke: Invoke) -> None:
    result = invoke("status", "--json")

    payload = _json(result)
    assert payload["status"]["links"]["customer/fake-crm"] > 0
    assert payload["config"]["crm"]["adapter"] == "fake-crm"
    assert payload["status"]["runs"]
    assert "Linked records" in invoke("status").stdout
    assert "probabilistic (link from 0.95, review from 0.5)" in invoke("status").stdout


class _TokenCRMAdapter(FakeCRMAdapter):
    """A fake CRM that needs an API token, and leaks it in its errors."""

    def __init__(self, *, path: str, token: str) -> None:
        super().__init__(path=path)
        self.token = token

    def read_page(
        self, entity: str, cursor: str | None, *, limit: int, signpost: str | None = None
    ) -> Page:
        raise OSError(f"GET /changes?token={self.token} failed")


def test_secrets_from_the_environment_are_never_printed(
    folder: Path, company: Company, invoke: Invoke
) -> None:
    register_adapter("token-crm", _TokenCRMAdapter)
    secret = "tok-8f2a9c41d7"
    Path("crmerp.toml").write_text(
        CONFIG.replace('adapter = "fake-crm"', 'adapter = "token-crm"')
        .replace('path = "crm.json"', 'path = "crm.json"\ntoken = "${CRM_TOKEN}"')
        .replace('url = "sqlite:///state.db"', 'url = "sqlite:///${STATE_FILE}"')
    )
    env = {**os.environ, "CRM_TOKEN": secret, "STATE_FILE": "state-x91.db"}

    outputs = [
        invoke("init", env=env),
        invoke("status", env=env),
        invoke("status", "--json", env=env),
        invoke("sync", "--debug", env=env),
    ]

    assert "***" in outputs[1].stdout
    for result in outputs:
        assert secret not in result.output
        assert "state-x91" not in result.output
    assert outputs[3].exit_code == ExitCode.FAILURE
    assert "token=***" in outputs[3].stderr


def test_a_copy_that_kept_its_reference_is_shown_with_the_reason(
    folder: Path, synced: Company, invoke: Invoke
) -> None:
    crm = FakeCRM(folder / "crm.json")
    original = next(a for a in crm.find("Account") if a.get("External_Id__c"))
    values = {k: v for k, v in original.items() if k not in FakeCRM.SYSTEM_FIELDS}
    crm.store_raw("Account", {**values, "Name": "Copy of " + original["Name"]})
    crm.save()
    invoke("sync")
    (review,) = [c for c in _json(invoke("conflicts", "list", "--json")) if c["field"] == "(copy)"]
    shown = invoke("conflicts", "show", str(review["id"]))
    assert f"copy: same reference as {original['Id']}" in shown.stdout
    assert invoke("conflicts", "resolve", str(review["id"]), "--pick", "new").exit_code == 0
    invoke("sync")
    erp = FakeERP(folder / "erp.json")
    assert erp.find("party.party", name="Copy of " + original["Name"])
