"""A record read again unchanged stops at its raw hash, before any validation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from crmerp import DataError
from crmerp.adapters import Capabilities, EntityMapping
from crmerp.state import SCHEMA_VERSION, StateStore, open_state
from crmerp.sync import Rules, SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

V1 = Path(__file__).parents[1] / "state" / "data" / "v1"


class NoFeedCRMAdapter(FakeCRMAdapter):
    """The fake CRM as a system that cannot say what changed: every read is full."""

    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), change_feed=False)


class NoFeedERPAdapter(FakeERPAdapter):
    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), change_feed=False)


@attrs.define
class Validations:
    """Every native record validated (``EntityMapping.to_canonical``), by native id;
    ids in ``refuse`` fail to validate, ids in ``rename`` validate with a new name."""

    calls: list[str] = attrs.Factory(list)
    refuse: set[str] = attrs.Factory(set)
    rename: dict[str, str] = attrs.Factory(dict)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Validations:
    seen = Validations()
    original = EntityMapping.to_canonical

    def counting(self: EntityMapping, payload: Any, *, system: str, native_id: str, **kw: Any):  # type: ignore[no-untyped-def]
        seen.calls.append(native_id)
        if native_id in seen.refuse:
            raise DataError("refused by the test", system=system, native_id=native_id)
        model = original(self, payload, system=system, native_id=native_id, **kw)
        if native_id in seen.rename:
            model = model.model_copy(update={"name": seen.rename[native_id]})
        return model

    monkeypatch.setattr(EntityMapping, "to_canonical", counting)
    return seen


@pytest.fixture
def nofeed(state_url: str) -> Iterator[tuple[FakeCRM, FakeERP, SyncEngine, StateStore]]:
    crm, erp = FakeCRM(), FakeERP()
    state = open_state(state_url, create=True)
    engine = SyncEngine(
        crm=NoFeedCRMAdapter(crm), erp=NoFeedERPAdapter(erp), state=state, rules=Rules.default()
    )
    yield crm, erp, engine, state
    state.close()


def _seed(crm: FakeCRM) -> list[str]:
    return [
        crm.create(
            "Account",
            Name=f"Customer {n} GmbH",
            Email__c=f"buyer{n}@customer{n}.example",
            BillingAddress={"street": f"Hauptstrasse {n}", "city": "Berlin", "countryCode": "DE"},
        )
        for n in range(3)
    ]


def test_a_full_read_with_nothing_changed_validates_nothing(nofeed, validations) -> None:
    crm, _erp, engine, _state = nofeed
    _seed(crm)
    engine.run(["customer"])
    engine.run(["customer"])  # reads the engine's own creates back once, in full
    validations.calls.clear()

    idle = engine.run(["customer"])

    assert validations.calls == []
    rep = idle.entity("customer")
    assert (rep.crm.pulled, rep.crm.unchanged, rep.erp.pulled, rep.erp.unchanged) == (3, 3, 3, 3)
    assert idle.writes == 0


@pytest.mark.parametrize(
    "edit",
    [
        {"Name": "Renamed GmbH"},
        {"BillingAddress": {"street": "Hauptstrasse 0", "city": "Hamburg", "countryCode": "DE"}},
    ],
    ids=["top-level", "nested"],
)
def test_one_changed_field_anywhere_is_read_and_applied(nofeed, validations, edit) -> None:
    crm, erp, engine, _state = nofeed
    ids = _seed(crm)
    engine.run(["customer"])
    engine.run(["customer"])
    validations.calls.clear()

    crm.edit("Account", ids[0], **edit)
    report = engine.run(["customer"])

    assert validations.calls.count(ids[0]) >= 1
    assert report.entity("customer").erp.updated == 1
    if "Name" in edit:
        assert "Renamed GmbH" in {p["name"] for p in erp.find("party.party")}
    else:
        cities = {a.get("city") for p in erp.find("party.party") for a in p.get("addresses", [])}
        assert "Hamburg" in cities


def test_a_key_no_field_reads_is_still_read(nofeed, validations) -> None:
    crm, _erp, engine, _state = nofeed
    ids = _seed(crm)
    engine.run(["customer"])
    engine.run(["customer"])
    validations.calls.clear()

    crm.edit("Account", ids[1], Rating="Hot")
    report = engine.run(["customer"])

    assert validations.calls == [ids[1]]
    assert report.entity("customer").crm.unchanged == 3
    assert report.writes == 0


def test_a_retried_quarantined_record_is_read_again(nofeed, validations) -> None:
    crm, erp, engine, _state = nofeed
    ids = _seed(crm)
    engine.run(["customer"])
    engine.run(["customer"])
    # The record stops validating (say, a bug in a custom mapping) and a
    # reconcile sets it aside; the mapping is fixed and the record retried.
    validations.refuse.add(ids[2])
    engine.reconcile(["customer"])
    assert [q.native_id for q in engine.quarantined()] == [ids[2]]
    validations.refuse.clear()
    validations.rename[ids[2]] = "Customer 2 (fixed) GmbH"
    assert engine.retry_quarantined() == 1
    validations.calls.clear()

    report = engine.run(["customer"])

    assert ids[2] in validations.calls
    assert report.entity("customer").erp.updated == 1
    assert "Customer 2 (fixed) GmbH" in {p["name"] for p in erp.find("party.party")}
    assert engine.quarantined() == []


def test_a_v1_state_migrates_and_a_run_on_its_systems_writes_nothing(tmp_path, validations):
    for item in V1.iterdir():
        shutil.copy(item, tmp_path / item.name)
    state = open_state(f"sqlite:///{tmp_path / 'state-v1.db'}")
    try:
        assert state.meta("schema_version") == str(SCHEMA_VERSION)
        with state.transaction("default") as tx:
            links_before = tx.links.count()
        crm = NoFeedCRMAdapter(path=tmp_path / "crm.json")
        erp = NoFeedERPAdapter(path=tmp_path / "erp.json")
        engine = SyncEngine(crm=crm, erp=erp, state=state, rules=Rules.default())

        # The first run reads on from the cursors the change feed left; the
        # second reads in full and records the raw hashes; the third skips all.
        writes = [engine.run().writes, engine.run().writes]
        validations.calls.clear()
        writes.append(engine.run().writes)

        assert writes == [0, 0, 0]
        assert validations.calls == []
        with state.transaction("default") as tx:
            assert tx.links.count() == links_before
        assert sum(links_before.values()) > 0
    finally:
        state.close()
