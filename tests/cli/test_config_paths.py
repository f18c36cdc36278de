"""Adapters named as module:Class, settings' paths from the config's folder, init checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crmerp import ConfigError
from crmerp.cli import load_config
from crmerp.cli._exit import ExitCode
from crmerp.testing import FakeCRM, FakeCRMAdapter
from tests.cli.conftest import CONFIG, Invoke


@pytest.fixture
def elsewhere(folder: Path) -> Path:
    """A config in ``sub/`` next to its files, while the working directory is above it."""
    sub = folder / "sub"
    sub.mkdir()
    (sub / "crmerp.toml").write_text(CONFIG)
    return sub


def test_relative_paths_in_settings_are_taken_from_the_config_folder(elsewhere: Path) -> None:
    crm = FakeCRM(elsewhere / "crm.json")
    crm.create("Account", Name="Acme GmbH")
    crm.save()

    config = load_config(elsewhere / "crmerp.toml")
    adapter = config.build_adapter("crm")
    try:
        assert isinstance(adapter, FakeCRMAdapter)
        assert [a["Name"] for a in adapter.fake.find("Account")] == ["Acme GmbH"]
    finally:
        adapter.close()
    assert not (elsewhere.parent / "crm.json").exists()


def test_a_sqlite_url_in_settings_is_taken_from_the_config_folder(elsewhere: Path) -> None:
    from crmerp.adapters.sql import SQLAdapter
    from crmerp.cli._config import _resolved_paths

    settings = _resolved_paths(SQLAdapter, {"url": "sqlite:///legacy.db"}, elsewhere)

    assert settings == {"url": f"sqlite:///{elsewhere / 'legacy.db'}"}


ADAPTER_MODULE = '''
from crmerp.testing import FakeERPAdapter


class LegacyERPAdapter(FakeERPAdapter):
    """An integrator's adapter in a file beside crmerp.toml."""
'''


def test_an_adapter_named_module_colon_class_is_imported(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (elsewhere / "legacy_erp.py").write_text(ADAPTER_MODULE)
    text = CONFIG.replace('adapter = "fake-erp"', 'adapter = "legacy_erp:LegacyERPAdapter"')
    (elsewhere / "crmerp.toml").write_text(text)
    monkeypatch.delitem(sys.modules, "legacy_erp", raising=False)

    adapter = load_config(elsewhere / "crmerp.toml").build_adapter("erp")
    try:
        assert type(adapter).__name__ == "LegacyERPAdapter"
        assert type(adapter).__module__ == "legacy_erp"
    finally:
        adapter.close()
        sys.modules.pop("legacy_erp", None)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_here:Adapter", "cannot import 'no_such_module_here'"),
        ("crmerp.testing:FakeCRM", "does not name an Adapter subclass"),
    ],
)
def test_a_module_colon_class_that_is_not_an_adapter_names_the_key(
    elsewhere: Path, target: str, message: str
) -> None:
    text = CONFIG.replace('adapter = "fake-erp"', f'adapter = "{target}"')
    (elsewhere / "crmerp.toml").write_text(text)

    with pytest.raises(ConfigError, match=message) as info:
        load_config(elsewhere / "crmerp.toml").build_adapter("erp")

    assert (info.value.key, info.value.line) == ("erp.adapter", 11)


def test_init_checks_the_adapter_settings_before_making_a_state(
    folder: Path, invoke: Invoke
) -> None:
    text = CONFIG.replace('path = "erp.json"', 'path = "erp.json"\ncolour = 1')
    (folder / "crmerp.toml").write_text(text)

    result = invoke("init")

    assert result.exit_code == ExitCode.FAILURE
    assert "crmerp.toml:15: adapter 'fake-erp' has no setting 'colour'" in result.stderr
    assert not (folder / "state.db").exists()
