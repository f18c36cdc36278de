"""A SQL "ERP" and the fake CRM kept in agreement with a crmerp.toml and no Python."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from crmerp.cli import app
from crmerp.testing import FakeCRM
from tests.adapters.sql._legacy import SETTINGS_TOML, legacy_schema

CONFIG = """\
[state]
url = "sqlite:///state.db"

[crm]
adapter = "fake-crm"
[crm.settings]
path = "crm.json"

[erp]
adapter = "crmerp.adapters.sql:SQLAdapter"   # or "sql", its entry-point name
[erp.settings]
url = "sqlite:///legacy.db"

[sync]
scope = "legacy"
matcher = "exact"

"""


def crmerp(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``sub/`` holds crmerp.toml, the CRM's file and the legacy database; the
    command runs from the folder above, so relative paths must be the config's."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "crmerp.toml").write_text(CONFIG + SETTINGS_TOML)
    engine = sa.create_engine(f"sqlite:///{sub / 'legacy.db'}")
    meta = legacy_schema()
    meta.create_all(engine)
    with engine.begin() as conn:  # the legacy ERP's own application writes a customer
        conn.execute(
            meta.tables["customers"].insert(),
            {
                "name": "Acme GmbH",
                "email": "sales@acme.example",
                "credit_limit": "5000.00",
                "credit_currency": "EUR",
                "active": True,
                "deleted": False,
                "updated_at": datetime(2026, 1, 5, 9, 30),
            },
        )
    engine.dispose()
    crm = FakeCRM(sub / "crm.json")
    crm.create("Account", Name="Beta AG", Email__c="info@beta.example")
    crm.save()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRMERP_CONFIG", raising=False)
    return sub


def test_a_toml_only_sql_erp_syncs_with_the_fake_crm(setup: Path) -> None:
    config = "sub/crmerp.toml"
    assert crmerp("init", "-c", config).exit_code == 0

    first = crmerp("sync", "-c", config, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["writes"] == 2

    crm = FakeCRM(setup / "crm.json")
    assert sorted(a["Name"] for a in crm.find("Account")) == ["Acme GmbH", "Beta AG"]
    engine = sa.create_engine(f"sqlite:///{setup / 'legacy.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, email, crmerp_ref FROM customers")).all()
    finally:
        engine.dispose()
    by_name = {name: (email, ref) for name, email, ref in rows}
    assert by_name["Beta AG"][0] == "info@beta.example"
    assert by_name["Beta AG"][1].startswith("crmerp:")
    assert by_name["Acme GmbH"][1] is None  # not created by the engine

    again = crmerp("sync", "-c", config, "--json")
    assert json.loads(again.stdout)["writes"] == 0
    assert not (setup.parent / "legacy.db").exists()
    assert not (setup.parent / "crm.json").exists()
