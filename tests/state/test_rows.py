"""The batched row writes (links, bases, audit, intents, unstaging) as read back."""

from datetime import UTC, datetime

from sqlalchemy.dialects import sqlite

from crmerp.state import InboxRow, open_state
from crmerp.state._driver import driver_form, driver_tuples
from crmerp.state._log import _audit_statement


def test_batched_writes_read_back_as_written(state_url: str) -> None:
    with open_state(state_url, create=True) as state:
        with state.transaction("s") as tx:
            tx.links.put(
                [("customer", "crm", "A-1", "g-1", "h1"), ("customer", "erp", "7", "g-1", None)],
            )
            tx.bases.put("customer", [("g-1", '{"name":"Acme"}', "b1")])
            tx.log.audit(
                "run-1",
                [
                    {
                        "entity": "customer",
                        "global_id": "g-1",
                        "field": "*",
                        "old": None,
                        "new": None,
                        "origin": "crm",
                        "rule": "first-seen",
                    }
                ],
            )
            ids = tx.intents.record(
                "run-1",
                [
                    {
                        "entity": "customer",
                        "system": "erp",
                        "global_id": "g-1",
                        "kind": "create",
                        "reference": "ref-1",
                        "native_id": None,
                        "payload_hash": "p1",
                    }
                ],
                unit="s|customer|0/1",
            )
            tx.inbox.stage([InboxRow("customer", "crm", "A-1", "g-1", "{}", datetime.now(UTC))])
        with state.transaction("s") as tx:
            assert tx.links.by_global("customer", ["g-1"]) == {
                "g-1": {"crm": ("A-1", "h1"), "erp": ("7", None)}
            }
            assert tx.bases.get("customer", ["g-1"]) == {"g-1": '{"name":"Acme"}'}
            (row,) = tx.log.audit_trail("g-1")
            assert (row["run_id"], row["origin"], row["rule"]) == ("run-1", "crm", "first-seen")
            assert row["at"] is not None
            (intent,) = tx.intents.open()
            assert (intent.id, intent.reference, intent.payload_hash) == (ids[0], "ref-1", "p1")
            assert intent.unit == "s|customer|0/1"
            assert tx.intents.open(["s|order|0/1"]) == []
            assert tx.inbox.counts() == {"customer": 1}
            tx.inbox.unstage("customer", [("crm", "A-1")])
            assert tx.inbox.counts() == {}


def test_tuples_refused_where_the_columns_are_not_in_statement_order() -> None:
    form = driver_form(sqlite.dialect(), _audit_statement())
    fixed = {"scope": "s", "run_id": "r", "at": datetime(2024, 1, 1, tzinfo=UTC)}
    columns = ("entity", "global_id", "field", "old", "new", "origin", "rule")
    (params,) = driver_tuples(form, fixed, columns, [("c", "g", "*", None, None, "crm", "x")]) or [
        ()
    ]
    assert params[:2] == ("s", "r")
    assert params[-1].startswith("2024-01-01")
    assert driver_tuples(form, fixed, tuple(reversed(columns)), []) is None
    assert driver_tuples(form, {"scope": "s"}, columns, []) is None
