"""Every write, parked conflict and quarantine is a log record with structured fields,
and no record carries a payload or a value."""

from __future__ import annotations

import logging

import pytest

from tests.sync.conftest import World, crm_account


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "crmerp.sync"]


def test_each_write_is_logged_with_run_entity_system_and_ids(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    crm_account(world.crm, "Acme GmbH", "sales@acme.example", Phone="+49 30 1234567")
    caplog.set_level(logging.INFO, logger="crmerp.sync")
    report = world.engine().run()
    (record,) = [r for r in _records(caplog) if getattr(r, "kind", None) == "create"]
    assert record.levelno == logging.INFO
    assert (record.run_id, record.entity, record.system) == (report.run_id, "customer", "fake-erp")
    assert str(record.native_id) == str(world.erp.find("party.party")[0]["id"])
    assert record.global_id
    message = record.getMessage()
    assert "Acme" not in message
    assert "+49" not in message


def test_a_parked_conflict_and_a_quarantined_record_are_logged_as_warnings(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    account = crm_account(world.crm, "Acme GmbH", "sales@acme.example")
    engine = world.engine()
    engine.run()
    party = world.erp.find("party.party", name="Acme GmbH")[0]["id"]
    world.crm.edit("Account", account, Name="Acme Deutschland GmbH")
    world.erp.edit("party.party", party, name="ACME Holding GmbH")
    bad = world.crm.store_raw("Account", {"Name": 12345, "Email__c": "x@example.com"})
    caplog.set_level(logging.INFO, logger="crmerp.sync")
    report = engine.run()
    assert report.conflicts_parked == 1
    assert report.quarantined == 1
    warnings = [r for r in _records(caplog) if r.levelno == logging.WARNING]
    conflict = next(r for r in warnings if getattr(r, "field", None) == "name" and r.system is None)
    assert (conflict.run_id, conflict.entity) == (report.run_id, "customer")
    quarantined = next(r for r in warnings if r.native_id == str(bad))
    assert (quarantined.system, quarantined.entity) == ("fake-crm", "customer")
    assert quarantined.reason
    for record in warnings:
        assert "Deutschland" not in record.getMessage()
        assert "Holding" not in record.getMessage()
