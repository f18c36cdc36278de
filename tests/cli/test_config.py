"""crmerp.toml: loading, environment variables, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmerp import ConfigError
from crmerp.cli import load_config
from crmerp.sync import Policy
from tests.cli.conftest import CONFIG, Invoke


def _write(folder: Path, text: str, name: str = "crmerp.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_config_loads_with_defaults(folder: Path) -> None:
    config = load_config(_write(folder, CONFIG))

    assert config.crm.adapter == "fake-crm"
    assert config.erp.settings == {"path": "erp.json"}
    assert config.state_url == f"sqlite:///{folder / 'state.db'}"
    assert (config.scope, config.batch_size, config.matcher) == ("test", 100, "probabilistic")


def test_the_match_section_sets_the_bands_the_engine_matches_in(folder: Path) -> None:
    from crmerp.cli._session import open_engine
    from crmerp.match import EntityMatchers, ProbabilisticMatcher, Thresholds

    default = load_config(_write(folder, CONFIG))
    assert (default.match_link, default.match_review) == (Thresholds().link, Thresholds().review)
    config = load_config(_write(folder, CONFIG + "\n[match]\nlink = 0.999\nreview = 0.6\n"))
    assert config.shown()["match"] == {"link": 0.999, "review": 0.6}
    with open_engine(config, create=True) as engine:
        assert isinstance(engine.matcher, EntityMatchers)
        customers = engine.matcher.matchers["customer"]
        assert isinstance(customers, ProbabilisticMatcher)
        assert customers.thresholds == Thresholds(link=0.999, review=0.6)


def test_environment_variables_fill_settings_and_are_masked(folder: Path) -> None:
    text = CONFIG.replace('path = "crm.json"', 'path = "${DEMO_CRM_FILE}"')
    config = load_config(_write(folder, text), {"DEMO_CRM_FILE": "s3cr3t.json"})

    assert config.crm.settings["path"] == "s3cr3t.json"
    assert config.crm.shown() == {"path": "***"}
    assert "s3cr3t" not in str(config.shown())
    assert config.redact("open s3cr3t.json failed") == "open *** failed"


def test_secrets_written_into_the_file_are_masked_too(folder: Path) -> None:
    text = CONFIG.replace('url = "sqlite:///state.db"', 'url = "postgresql://sync:pw-93x@db/crm"')
    text = text.replace('path = "erp.json"', 'path = "erp.json"\napi_key = "k-5521"')
    config = load_config(_write(folder, text))

    assert config.erp.shown() == {"path": "erp.json", "api_key": "***"}
    shown = str(config.shown())
    assert "pw-93x" not in shown
    assert "k-5521" not in shown


@pytest.mark.parametrize(
    ("change", "line", "key"),
    [
        (('adapter = "fake-erp"', 'adapter = "no-such-erp"'), 11, "erp.adapter"),
        (("[sync]", "[sync]\nworkers = 3"), 17, "sync.workers"),
        (("batch_size = 100", "batch_size = 0"), 18, "sync.batch_size"),
        (('url = "sqlite:///state.db"', 'url = "mysql://db"'), 2, "state.url"),
        (('path = "crm.json"', 'path = "${NOT_SET_ANYWHERE}"'), 8, "crm.settings.path"),
        (("[sync]", "[syncing]"), 16, "syncing"),
        (('scope = "test"', 'scope = "test"\nmatcher = "fuzzy"'), 18, "sync.matcher"),
        (('path = "erp.json"', 'path = "erp.json"\ncolour = 1'), 15, "erp.settings.colour"),
        (("batch_size = 100", "batch_size = 100\n\n[match]\nlink = 1.5"), 21, "match.link"),
        (("batch_size = 100", "batch_size = 100\n\n[match]\nlink = true"), 21, "match.link"),
        (
            ("batch_size = 100", "batch_size = 100\n\n[match]\nlink = 0.9\nreview = 0.95"),
            22,
            "match.review",
        ),
        (("batch_size = 100", "batch_size = 100\n\n[match]\nmargin = 3"), 21, "match.margin"),
    ],
)
def test_errors_name_the_file_line_and_key(
    folder: Path, change: tuple[str, str], line: int, key: str
) -> None:
    path = _write(folder, CONFIG.replace(*change))

    with pytest.raises(ConfigError) as info:
        _build_both(path)

    assert (info.value.path, info.value.line, info.value.key) == (str(path), line, key)
    assert str(info.value).startswith(f"{path}:{line}: ")


def _build_both(path: Path) -> None:
    config = load_config(path, {})
    config.build_adapter("crm").close()
    config.build_adapter("erp").close()


def test_invalid_toml_names_the_line(folder: Path) -> None:
    path = _write(folder, CONFIG.replace('scope = "test"', 'scope = "test'))

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert info.value.line == 17


def test_inline_rules_are_read_and_checked(folder: Path) -> None:
    good = CONFIG + '\n[rules.customer.fields.name]\npolicy = "latest"\n'
    assert (
        load_config(_write(folder, good)).rules.entity("customer").field("name").policy
        is Policy.LATEST
    )

    bad = (
        CONFIG + '\n[rules.customer]\ndeletes = "archive"\n\n[rules.customer.fields.name]\n'
        'policy = "coin-toss"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(_write(folder, bad))

    assert (info.value.line, info.value.key) == (24, "rules.customer.fields.name.policy")


def test_a_rules_file_is_read_relative_to_the_config(folder: Path) -> None:
    (folder / "conf").mkdir()
    _write(
        folder,
        '[customer.fields.tax_id]\ndirection = "erp->crm"\npolicy = "sideways"\n',
        "conf/rules.toml",
    )
    path = _write(folder, CONFIG + '\n[rules]\npath = "rules.toml"\n', "conf/crmerp.toml")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert (info.value.path, info.value.line) == (str(folder / "conf" / "rules.toml"), 3)
    assert info.value.key == "customer.fields.tax_id.policy"


def test_a_broken_config_fails_the_command_naming_the_line(folder: Path, invoke: Invoke) -> None:
    _write(folder, CONFIG.replace("batch_size = 100", "batch_size = many"))

    result = invoke("sync")

    assert result.exit_code == 1
    assert "crmerp.toml:18:" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_config_says_what_to_do(folder: Path, invoke: Invoke) -> None:
    result = invoke("status")

    assert result.exit_code == 1
    assert "crmerp.toml" in result.stderr
    assert "--config" in result.stderr


def test_an_instance_named_in_the_file_is_the_one_the_adapter_reports(folder: Path) -> None:
    from crmerp.sync._context import instance_of

    text = CONFIG.replace('adapter = "fake-erp"', 'adapter = "fake-erp"\ninstance = "erp-prod"')
    config = load_config(_write(folder, text))
    assert config.erp.instance == "erp-prod"
    assert instance_of(config.build_adapter("erp")) == "erp-prod"
    crm = config.build_adapter("crm")
    assert instance_of(crm) == crm.instance()  # not named: the adapter's own
    with pytest.raises(ConfigError, match=r"erp\.instance"):
        load_config(
            _write(
                folder, CONFIG.replace('adapter = "fake-erp"', 'adapter = "fake-erp"\ninstance = 7')
            )
        )
