"""The review application over HTTP: who may use it, and what a decision does."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest

from crmerp.review import review_app
from crmerp.sync import SyncEngine
from tests.review.conftest import TOKEN

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
