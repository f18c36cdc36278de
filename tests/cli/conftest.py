"""Fixtures for the command: a small seeded CRM and ERP in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from crmerp.cli import app
from crmerp.cli._seed import Company, seed
from crmerp.testing import FakeCRM, FakeERP

CONFIG = """\
[state]
url = "sqlite:///state.db"

[crm]
adapter = "fake-crm"

[crm.settings]
path = "crm.json"

[erp]
adapter = "fake-erp"

[erp.settings]
path = "erp.json"

[sync]
scope = "test"
batch_size = 100
"""

Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    """Run ``crmerp`` with arguments, as a user would, and return the result."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRMERP_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
def company(folder: Path) -> Company:
    """A small demo company in crm.json and erp.json, with a crmerp.toml naming them."""
    crm, erp = FakeCRM(folder / "crm.json"), FakeERP(folder / "erp.json")
    seeded = seed(crm, erp, customers=30)
    crm.save()
    erp.save()
    (folder / "crmerp.toml").write_text(CONFIG)
    return seeded


@pytest.fixture
def synced(company: Company, invoke: Invoke) -> Company:
    """The small company after `crmerp init` and a first `crmerp sync`."""
    assert invoke("init").exit_code == 0
    assert invoke("sync").exit_code in (0, 3, 4)
    return company
