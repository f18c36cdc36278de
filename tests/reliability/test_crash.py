"""Promise 2 and 1: a crash at any step, then a restart, ends as a run without one.

For every step boundary of the engine, and for crashes inside a remote write
(after the first record, after the remote commit), the run is killed at a
seeded occurrence of that point; a new engine opens the same state and runs to
the end. Both systems must then equal the fault-free result, no two records may
carry the same stamped reference, and no edit may be lost.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from crmerp.adapters import ENTITIES
from crmerp.state import open_state
from crmerp.sync import SyncEngine
from crmerp.testing import (
    FakeCRM,
    FakeCRMAdapter,
    FakeERP,
    FakeERPAdapter,
    FaultPlan,
    SimulatedCrash,
)
from tests.sync.conftest import crm_order

ENGINE_POINTS = (
    "page.read",
    "translate",
    "merge",
    "intent.recorded",
    "write.sent",
    "write.answered",
    "state.commit",
)
ADAPTER_POINTS = ("write.after_first", "write.after_commit", "write.before")
WORKER = "sync-service-1"  # a restarted service resumes its own lease
SEEDS = range(
    int(os.environ.get("CRMERP_CRASH_SEEDS", "12" if os.environ.get("CRMERP_SOAK") else "3"))
)


def build() -> tuple[FakeCRM, FakeERP]:
    """A small company with records on both sides and documents."""
    crm, erp = FakeCRM(), FakeERP()
    bolt = erp.create("product.product", code="BOLT-1", name="Bolt", default_uom="unit")
    erp.create("product.product", code="NUT-1", name="Nut", default_uom="unit")
    erp.create(
        "product.price_list",
        name="EU",
        currency="EUR",
        lines=[
            {
                "product": bolt,
                "unit_price": Decimal("0.40"),
                "quantity": Decimal(1),
                "discount": Decimal(0),
            }
        ],
    )
    for n in range(7):
        crm.create(
            "Account", Name=f"CRM Customer {n}", Email__c=f"c{n}@crm.example", CurrencyIsoCode="EUR"
        )
        erp.create(
            "party.party",
            name=f"ERP Customer {n}",
            contact_mechanisms=[{"type": "email", "value": f"e{n}@erp.example"}],
            payment_term="net 30",
        )
    return crm, erp


def edit_both(crm: FakeCRM, erp: FakeERP) -> None:
    """Edits after the first sync, on both sides, for the second phase."""
    for account in crm.find("Account")[:4]:
        crm.edit("Account", account["Id"], Phone="+49 30 5550000")
    for party in erp.find("party.party")[:4]:
        erp.edit("party.party", party["id"], payment_term="net 45")
    account = crm.find("Account")[0]["Id"]
    product = crm.find("Product2")[0]["Id"]
    crm_order(crm, account, product, quantity=2)


def contents(crm: FakeCRM, erp: FakeERP) -> dict[str, Any]:
    """What each system holds, id-free, so a crashed and a clean run compare."""
    crm_adapter, erp_adapter = FakeCRMAdapter(crm), FakeERPAdapter(erp)
    out: dict[str, Any] = {}
    for entity in ENTITIES:
        for name, adapter in (("crm", crm_adapter), ("erp", erp_adapter)):
            rows = []
            page = adapter.read_page(entity, None, limit=10_000)
            for record in page.records:
                if record.deleted:
                    continue
                model = adapter.to_canonical(entity, record)
                data = model.model_dump(mode="json", exclude={"id", "updated_at"})
                for ref in ("customer_id", "quote_id", "order_id"):
                    data.pop(ref, None)
                for key in ("lines", "items"):
                    for line in data.get(key, []):
                        line.pop("product_id", None)
                rows.append(repr(sorted(data.items())))
            out[f"{name}/{entity}"] = sorted(rows)
    return out


def references(crm: FakeCRM, erp: FakeERP) -> Counter[str]:
    counts: Counter[str] = Counter()
    for system, table_field in ((crm, "External_Id__c"), (erp, "crmerp_ref")):
        for table in system.TABLES.values():
            for row in system.find(table):
                if row.get(table_field):
                    counts[f"{table}:{row[table_field]}"] += 1
    return counts


def settle(crm: FakeCRM, erp: FakeERP, url: str, counts: Counter[str] | None = None) -> None:
    """Restart: a new engine on the same state runs until nothing is left to do."""
    for attempt in range(4):
        state = open_state(url)
        try:
            report = SyncEngine(
                crm=FakeCRMAdapter(crm),
                erp=FakeERPAdapter(erp),
                state=state,
                worker_id=WORKER,
                boundary=(lambda name: counts.update([name]))
                if counts is not None and attempt == 0
                else None,
            ).run()
        finally:
            state.close()
        if report.writes == 0 and report.deferred == 0:
            return
    raise AssertionError("the sync did not settle in four runs after the crash")


@pytest.fixture(scope="module")
def clean_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    crm, erp = build()
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'state.db'}"
    open_state(url, create=True).close()
    first_counts: Counter[str] = Counter()
    settle(crm, erp, url, first_counts)
    first = contents(crm, erp)
    edit_both(crm, erp)
    second_counts: Counter[str] = Counter()
    settle(crm, erp, url, second_counts)
    return {"first": first, "second": contents(crm, erp), "counts": (first_counts, second_counts)}


class _Crasher:
    def __init__(self, point: str, occurrence: int) -> None:
        self.point = point
        self.occurrence = occurrence
        self.seen = 0
        self.fired = False

    def __call__(self, name: str) -> None:
        if name != self.point or self.fired:
            return
        self.seen += 1
        if self.seen == self.occurrence:
            self.fired = True
            raise SimulatedCrash(name)


def _crash_run(
    crm: FakeCRM, erp: FakeERP, url: str, point: str, seed: int, occurrences: int
) -> bool:
    """Crash at a seeded occurrence of ``point`` among those a clean run passes."""
    occurrence = random.Random(f"{point}:{seed}").randint(1, max(occurrences, 1))
    state = open_state(url)
    crasher = _Crasher(point, occurrence)
    try:
        SyncEngine(
            crm=FakeCRMAdapter(crm),
            erp=FakeERPAdapter(erp),
            state=state,
            boundary=crasher,
            worker_id=WORKER,
        ).run()
    except SimulatedCrash:
        pass
    finally:
        state.close()
    return crasher.fired


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("point", ENGINE_POINTS)
def test_a_crash_at_an_engine_step_then_restart_equals_a_clean_run(
    tmp_path, clean_result: dict[str, Any], point: str, seed: int
) -> None:
    crm, erp = build()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_state(url, create=True).close()
    first_counts, second_counts = clean_result["counts"]
    fired = _crash_run(crm, erp, url, point, seed, first_counts[point])
    settle(crm, erp, url)
    assert contents(crm, erp) == clean_result["first"]
    edit_both(crm, erp)
    fired |= _crash_run(crm, erp, url, point, seed + 100, second_counts[point])
    settle(crm, erp, url)
    assert contents(crm, erp) == clean_result["second"], "an acknowledged edit was lost"
    duplicated = [ref for ref, n in references(crm, erp).items() if n > 1]
    assert duplicated == [], "a crash produced duplicate records"
    assert fired, f"the crash at {point} never happened: the test would prove nothing"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("point", ADAPTER_POINTS)
def test_a_crash_inside_a_remote_write_then_restart_equals_a_clean_run(
    tmp_path, clean_result: dict[str, Any], point: str, seed: int
) -> None:
    crm, erp = build()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_state(url, create=True).close()
    faults = FaultPlan(seed=seed, crash_at=point, crash_on=1 + seed % 3)
    state = open_state(url)
    try:
        SyncEngine(
            crm=FakeCRMAdapter(crm, faults=faults),
            erp=FakeERPAdapter(erp, faults=faults),
            state=state,
            worker_id=WORKER,
        ).run()
    except SimulatedCrash:
        pass
    finally:
        state.close()
    settle(crm, erp, url)
    assert contents(crm, erp) == clean_result["first"]
    assert [ref for ref, n in references(crm, erp).items() if n > 1] == []
    assert faults.injected.get("crash", 0) == 1
