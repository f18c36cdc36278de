"""Fakes backed by a JSON file keep their records, exactly, across processes."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crmerp import StateCorrupt, UsageError
from crmerp.adapters import WriteKind, WriteOp
from crmerp.models import Customer, Money
from crmerp.testing import FakeClock, FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter


def test_a_saved_erp_loads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "erp.json"
    erp = FakeERP(path)
    party = erp.create(
        "party.party", name="Acme", credit_limit_amount="1234.5600", credit_limit_currency="EUR"
    )
    erp.create("product.price_list", name="EU", currency="EUR", start_date=date(2024, 1, 1))
    erp.delete("party.party", erp.create("party.party", name="Gone"))
    erp.save()
    again = FakeERP(path)
    assert again.read("party.party", party) == erp.read("party.party", party)
    assert again.read("party.party", party)["credit_limit_amount"] == Decimal("1234.5600")
    assert again.find("product.price_list")[0]["start_date"] == date(2024, 1, 1)
    assert again.sequence() == erp.sequence()
    assert again.create("party.party", name="Next") == 3


def test_the_clock_goes_on_where_the_file_left_it(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    crm = FakeCRM(path, clock=FakeClock(datetime(2031, 1, 1, tzinfo=UTC)))
    crm.create("Account", Name="Acme")
    crm.save()
    later = FakeCRM(path)
    account = later.create("Account", Name="Beta")
    assert later.read("Account", account)["LastModifiedDate"].startswith("2031-01-01T00:00:01")


def test_the_adapter_saves_after_each_write_batch(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    adapter = FakeCRMAdapter(path=path)
    customer = Customer(name="Acme", credit_limit=Money("0.30", "EUR"))
    op = WriteOp(WriteKind.CREATE, "crmerp:g-1", adapter.to_native("customer", customer))
    (result,) = adapter.write("customer", [op])
    other_process = FakeCRMAdapter(path=path)
    (record,) = other_process.fetch("customer", [result.native_id or ""])
    assert record.payload["Credit_Limit__c"] == "0.30"
    assert record.reference == "crmerp:g-1"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["format"] == "fake-crm"
    assert [p.name for p in tmp_path.iterdir()] == ["crm.json"]


def test_a_failed_batch_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "erp.json"
    adapter = FakeERPAdapter(path=path)
    adapter.write("customer", [WriteOp(WriteKind.CREATE, "crmerp:x", {"bp_category": 2})])
    assert not path.exists()


def test_a_damaged_or_foreign_file_fails_loudly(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.json"
    damaged.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateCorrupt):
        FakeCRM(damaged)
    crm_file = tmp_path / "crm.json"
    FakeCRM(crm_file).save()
    with pytest.raises(StateCorrupt, match="not a fake-erp file"):
        FakeERP(crm_file)


def test_saving_needs_a_path() -> None:
    with pytest.raises(UsageError) as caught:
        FakeCRM().save()
    assert caught.value.code == "fake-no-path"
    with pytest.raises(UsageError):
        FakeCRMAdapter(FakeCRM(), path="crm.json")
