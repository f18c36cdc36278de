"""A state and systems written by the release before instances keep working.

tests/state/data/v1 holds a state (schema 1) and its two fake systems as that
release left them: records linked by match, by a create from each side, and
references stamped in the old form (``crmerp:<global id>``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

V1 = Path(__file__).parent.parent / "state" / "data" / "v1"


def _copy(tmp_path: Path) -> Path:
    for name in ("state-v1.db", "state-v1.db.generation", "crm.json", "erp.json"):
        shutil.copy(V1 / name, tmp_path / name)
    return tmp_path


def _engine(where: Path, state: str = "state-v1.db", **options: object) -> SyncEngine:
    return SyncEngine(
        crm=FakeCRMAdapter(path=where / "crm.json"),
        erp=FakeERPAdapter(path=where / "erp.json"),
        state=open_state(f"sqlite:///{where / state}", create=state != "state-v1.db"),
        worker_id="fixture",
        **options,  # type: ignore[arg-type]
    )


def _counts(where: Path) -> tuple[int, int, int, int]:
    crm, erp = FakeCRM(where / "crm.json"), FakeERP(where / "erp.json")
    return (
        len(crm.find("Account")),
        len(crm.find("Product2")),
        len(erp.find("party.party")),
        len(erp.find("product.product")),
    )


def test_a_v1_state_keeps_its_links_and_writes_nothing(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    engine = _engine(where)
    assert engine.run().writes == 0
    assert engine.reconcile().writes == 0
    assert not engine.conflicts()
    engine.state.close()
    assert _counts(where) == (2, 1, 2, 1)


def test_records_linked_by_a_v1_state_still_flow_both_ways(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    crm, erp = FakeCRM(where / "crm.json"), FakeERP(where / "erp.json")
    (zeta,) = crm.find("Account", Name="Zeta AG")
    crm.edit("Account", zeta["Id"], Phone="+41 44 000 00 00")
    (product,) = erp.find("product.product")
    erp.edit("product.product", product["id"], name="Espresso machine Pro II")
    crm.save()
    erp.save()
    engine = _engine(where)
    report = engine.run()
    assert report.writes == 2
    assert engine.run().writes == 0
    engine.state.close()
    assert _counts(where) == (2, 1, 2, 1)
    crm, erp = FakeCRM(where / "crm.json"), FakeERP(where / "erp.json")
    (party,) = erp.find("party.party", name="Zeta AG")
    assert {"type": "phone", "value": "+41440000000"} in party["contact_mechanisms"]
    assert [p["Name"] for p in crm.find("Product2")] == ["Espresso machine Pro II"]


def test_a_new_state_over_systems_a_v1_state_synced_duplicates_nothing(tmp_path: Path) -> None:
    where = _copy(tmp_path)
    # The old stamps name ids this state does not know: the records go to matching.
    engine = _engine(where, state="fresh.db")
    report = engine.run()
    assert report.entity("customer").linked_by_match == 2
    assert report.entity("product").linked_by_match == 1
    assert engine.run().writes == 0
    engine.state.close()
    assert _counts(where) == (2, 1, 2, 1)
