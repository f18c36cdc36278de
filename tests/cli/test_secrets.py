"""Secrets go into URLs encoded and never into an error, on every path that takes one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crmerp import UsageError
from crmerp.adapters.bottlecrm import BottleCRMAdapter
from crmerp.cli import ExitCode, load_config
from tests.cli.conftest import CONFIG, Invoke

PASSWORD = "Kw7b@Tx4vRp/x:y%z?#"
"""A PostgreSQL password with every character that means something in a URL."""
TOKEN = "bcrm_pat_Grüße7Q"
"""A BottleCRM token pasted with characters a header cannot carry."""


def _pieces(secret: str) -> list[str]:
    """Every run of four characters of ``secret``: what a half-leaked secret shows."""
    return [secret[i : i + 4] for i in range(len(secret) - 3)]


def _postgres_config(url: str) -> str:
    return CONFIG.replace('url = "sqlite:///state.db"', f'url = "{url}"')


def test_a_password_from_the_environment_is_encoded_into_the_state_url(folder: Path) -> None:
    (folder / "crmerp.toml").write_text(
        _postgres_config("postgresql://sync:${PGPASSWORD}@db.example:5432/crmerp")
    )

    config = load_config(environ={"PGPASSWORD": PASSWORD})
    url = make_url(config.state_url)

    assert (url.username, url.password, url.host, url.port) == (
        "sync",
        PASSWORD,
        "db.example",
        5432,
    )
    assert url.database == "crmerp"
    assert not any(piece in config.redact(config.state_url) for piece in _pieces(PASSWORD))


def test_an_unreachable_database_names_no_part_of_the_password(
    folder: Path, invoke: Invoke
) -> None:
    pytest.importorskip("psycopg")
    (folder / "crmerp.toml").write_text(
        _postgres_config("postgresql://sync:${PGPASSWORD}@127.0.0.1:1/crmerp")
    )

    result = invoke("init", "--debug", env={"PGPASSWORD": PASSWORD})

    assert result.exit_code == ExitCode.FAILURE
    assert "127.0.0.1" in result.stderr  # the host it could not reach, not a piece of the password
    leaked = [piece for piece in _pieces(PASSWORD) if piece in result.output]
    assert not leaked, result.output


@pytest.mark.postgres
def test_a_password_with_url_characters_reaches_postgresql(
    folder: Path, invoke: Invoke, postgres_url: str
) -> None:
    # The test server trusts loopback: any password is accepted, once it arrives whole.
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:${PGPASSWORD}@")
    (folder / "crmerp.toml").write_text(_postgres_config(url))

    result = invoke("init", env={"PGPASSWORD": PASSWORD})

    assert result.exit_code == 0, result.output
    assert "***" in result.stdout


def test_a_bottlecrm_token_that_cannot_be_sent_is_refused_without_showing_it() -> None:
    with pytest.raises(UsageError) as caught:
        BottleCRMAdapter(base_url="http://127.0.0.1:9", token=TOKEN)

    error = caught.value
    shown = f"{error} {error.args!r} {error.__context__!r} {error.__cause__!r}"
    assert "token" in str(caught.value)
    assert not any(piece in shown for piece in _pieces(TOKEN))


def test_the_command_refuses_such_a_token_without_showing_it(folder: Path, invoke: Invoke) -> None:
    (folder / "crmerp.toml").write_text(
        CONFIG.replace(
            'adapter = "fake-crm"\n\n[crm.settings]\npath = "crm.json"',
            'adapter = "bottlecrm"\n\n[crm.settings]\nbase_url = "http://127.0.0.1:9"\n'
            'token = "${BOTTLECRM_TOKEN}"',
        )
    )
    (folder / "erp.json").write_text("")

    # init checks the adapters' settings before it makes a state, as plan does.
    result = invoke("init", "--debug", env={"BOTTLECRM_TOKEN": TOKEN})

    assert result.exit_code == ExitCode.FAILURE
    assert "token" in result.stderr
    assert not any(piece in result.output for piece in _pieces(TOKEN))
