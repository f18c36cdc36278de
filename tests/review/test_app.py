"""The review application over HTTP: who may use it, and what a decision does."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from crmerp.cli import load_config
from crmerp.cli._session import open_engine as open_configured
from crmerp.cli._session import open_state_for
from crmerp.review import review_app
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeERP
from tests.cli.conftest import CONFIG
from tests.review.conftest import TOKEN, serving

Opener = Callable[[], AbstractContextManager[SyncEngine]]


def _client(server: str, user: str = "anna", password: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=server, auth=(user, password))


def _secret(html: str) -> str:
    found = re.search(r'name="form_secret" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_nobody_gets_in_without_the_token(server: str) -> None:
    assert httpx.get(server).status_code == 401
    with _client(server, password="guess") as client:
        answer = client.get("/")
    assert answer.status_code == 401
    assert "Basic" in answer.headers["www-authenticate"]
    assert TOKEN not in answer.text


def test_the_page_is_never_open_without_a_token_or_users(open_engine: Opener) -> None:
    with pytest.raises(ValueError, match="never open"):
        review_app(open_engine)


def test_the_list_shows_open_conflicts_with_both_values(server: str) -> None:
    with _client(server) as client:
        page = client.get("/")

    assert page.status_code == 200
    assert "Conflicts and match reviews (2)" in page.text
    assert "(Zentrale)" in page.text
    assert "Holding" in page.text
    assert "signed in as <strong>anna</strong>" in page.text


def test_a_decision_is_applied_by_the_next_sync_and_names_who_made_it(
    server: str, open_engine: Opener
) -> None:
    with open_engine() as engine:
        first = engine.conflicts()[0]
    with _client(server) as client:
        page = client.get(f"/conflicts/{first.id}")
        answer = client.post(
            f"/conflicts/{first.id}/decide",
            data={"pick": "crm", "form_secret": _secret(page.text)},
            follow_redirects=False,
        )
        after = client.get(answer.headers["location"]).text

    assert "Take the CRM's value" in page.text
    assert answer.status_code == 303
    assert "settled" in after
    with open_engine() as engine:
        assert len(engine.conflicts()) == 1
        history = engine.history("customer", first.global_id)
        assert (history.changes[0].origin, history.changes[0].rule) == (
            "person:anna",
            "decided:pick crm",
        )
        engine.run()
        assert history.global_id in {c.global_id for c in engine.conflicts(None)}
        assert engine.history("customer", first.global_id).changes[0].rule == "resolved"


def test_a_post_without_the_page_secret_is_refused(server: str, open_engine: Opener) -> None:
    with open_engine() as engine:
        first = engine.conflicts()[0]

    with _client(server) as client:
        answer = client.post(f"/conflicts/{first.id}/decide", data={"pick": "crm"})

    assert answer.status_code == 403
    with open_engine() as engine:
        assert len(engine.conflicts()) == 2


def test_settling_twice_says_already_resolved(server: str, open_engine: Opener) -> None:
    with open_engine() as engine:
        first = engine.conflicts()[0]
    with _client(server) as client:
        secret = _secret(client.get(f"/conflicts/{first.id}").text)
        for _ in range(2):
            answer = client.post(
                f"/conflicts/{first.id}/decide", data={"pick": "erp", "form_secret": secret}
            )

    assert answer.status_code == 409
    assert "already resolved" in answer.text


def test_a_match_review_shows_both_records_and_links_them_when_told(tmp_path: Path) -> None:
    crm, erp = FakeCRM(tmp_path / "crm.json"), FakeERP(tmp_path / "erp.json")
    crm.create("Account", Name="Schneider Logistik GmbH")
    erp.create("party.party", name="SCHNEIDER LOGISTIK G.m.b.H.")
    crm.save()
    erp.save()
    (tmp_path / "crmerp.toml").write_text(
        CONFIG.replace("state.db", str(tmp_path / "state.db"))
        .replace('"crm.json"', f'"{tmp_path / "crm.json"}"')
        .replace('"erp.json"', f'"{tmp_path / "erp.json"}"')
    )
    config = load_config(tmp_path / "crmerp.toml")
    with open_state_for(config, create=True):
        pass
    with open_configured(config) as engine:
        engine.run()
        (review,) = engine.conflicts()
    assert review.kind == "match"

    with (
        serving(review_app(lambda: open_configured(config), token=TOKEN)) as url,
        _client(url, user="bea") as client,
    ):
        page = client.get(f"/conflicts/{review.id}")
        answer = client.post(
            f"/conflicts/{review.id}/decide",
            data={"pick": "link", "form_secret": _secret(page.text)},
        )

    assert "Schneider Logistik GmbH" in page.text
    assert "SCHNEIDER LOGISTIK G.m.b.H." in page.text  # the records side by side
    assert "The same customer: link them" in page.text
    assert answer.status_code == 303
    with open_configured(config) as engine:
        engine.run()
        # Linked: no match review any more (the two spellings of the name are now a
        # field conflict of one customer, for a person again).
        assert [c.kind for c in engine.conflicts()] == ["field"]
    assert len(FakeCRM(tmp_path / "crm.json").find("Account")) == 1
    assert len(FakeERP(tmp_path / "erp.json").find("party.party")) == 1
