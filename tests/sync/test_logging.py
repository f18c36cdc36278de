"""A run says what it does in log records, for the service that embeds the engine."""

from __future__ import annotations

import logging

import pytest

from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


def test_a_run_logs_its_start_its_entities_and_its_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm, erp = FakeCRM(), FakeERP()
    crm.create("Account", Name="Acme GmbH", Email__c="sales@acme.example")
    engine = SyncEngine(
        crm=FakeCRMAdapter(crm),
        erp=FakeERPAdapter(erp),
        state=open_state("sqlite:///:memory:", create=True),
    )

    with caplog.at_level(logging.DEBUG, logger="crmerp.sync"):
        report = engine.run()

    messages = [r.getMessage() for r in caplog.records if r.name == "crmerp.sync"]
    run = report.run_id[:8]
    assert any(m.startswith(f"run {run} started") for m in messages)
    assert any(f"{run} customer: read crm 1" in m for m in messages)
    assert f"run {run} done: 1 write(s), 0 conflict(s) parked, 0 quarantined" in messages
