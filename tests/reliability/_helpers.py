"""Shared checks of the reliability tests: agreement, duplicates, missed records, soak tally.

A :class:`World` is the two fakes, their adapters and a state (in-memory SQLite
unless a test needs a backend), with an engine that never really sleeps. The
checks look at the systems the way a user would (what each one holds) and use
the state only to know which records the engine linked.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmerp.adapters import ENTITIES, NativeRecord, global_id_of
from crmerp.match import ExactKeyMatcher
from crmerp.state import StateStore, open_state
from crmerp.sync import Rules, SyncEngine, SyncReport
from crmerp.testing import FakeClock, FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter, FaultPlan

SOAK = os.environ.get("CRMERP_SOAK") == "1"
"""Longer runs (more examples, seeds and records) when ``CRMERP_SOAK=1``."""

MEMORY_STATE = "sqlite:///:memory:"


def scaled(normal: int, soak: int) -> int:
    """``normal`` in the default test run, ``soak`` under ``CRMERP_SOAK=1``."""
    return soak if SOAK else normal


@attrs.define
class Tally:
    """What the reliability tests did, summed over a session (printed in soak mode)."""

    seeds: int = 0
    runs: int = 0
    records_synced: int = 0
    faults: Counter[str] = attrs.Factory(Counter)
    lost_updates: int = 0
    duplicates: int = 0
    agreement_checks: int = 0

    def lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        return [
            f"seeds/examples tried: {self.seeds}",
            f"engine runs: {self.runs}",
            f"records synced (created + updated + deleted): {self.records_synced}",
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"agreement checks: {self.agreement_checks}",
            f"lost updates: {self.lost_updates}",
            f"duplicates: {self.duplicates}",
        ]


TALLY = Tally()


def count_faults(*plans: FaultPlan | None) -> None:
    """Add what these plans injected to the session tally."""
    for plan in plans:
        if plan is not None:
            TALLY.faults.update(plan.injected)


@attrs.define
class World:
    """Both fake systems, their adapters and one state; engines are made on demand."""

    crm: FakeCRM
    erp: FakeERP
    crm_adapter: FakeCRMAdapter
    erp_adapter: FakeERPAdapter
    state: StateStore
    rules: Rules = attrs.Factory(Rules.default)
    scope: str = "default"
    waited: list[float] = attrs.Factory(list)
    owns_state: bool = True

    def engine(self, **options: Any) -> SyncEngine:
        """An engine over this world; it records waits instead of sleeping.

        New records are paired on shared keys only (email, tax id, SKU): these tests
        create many distinct customers with similar names, which a probabilistic
        matcher rightly holds for review; matching has its own tests.
        """
        options.setdefault("matcher", ExactKeyMatcher())
        options.setdefault("rules", self.rules)
        options.setdefault("scope", self.scope)
        options.setdefault("sleep", self.waited.append)
        return SyncEngine(crm=self.crm_adapter, erp=self.erp_adapter, state=self.state, **options)

    def faults(self, crm: FaultPlan | None, erp: FaultPlan | None) -> None:
        """Put fault plans in force (``None``: no faults on that side)."""
        count_faults(self.crm_adapter.faults, self.erp_adapter.faults)
        self.crm_adapter.faults = crm
        self.erp_adapter.faults = erp

    def close(self) -> None:
        self.faults(None, None)
        if self.owns_state:
            self.state.close()


def make_world(
    url: str = MEMORY_STATE,
    *,
    rules: Rules | None = None,
    crm: FakeCRM | None = None,
    erp: FakeERP | None = None,
    crm_clock: FakeClock | None = None,
    erp_clock: FakeClock | None = None,
    reports_deletes: bool = True,
    page_size: int = 500,
    state: StateStore | None = None,
    scope: str = "default",
) -> World:
    """A fresh world; the ERP reports deletes unless told otherwise.

    Given a ``state``, the world shares it (under its own ``scope``) and leaves it open.
    """
    crm = crm if crm is not None else FakeCRM(clock=crm_clock, instance="crm-1")
    erp = (
        erp
        if erp is not None
        else FakeERP(clock=erp_clock, reports_deletes=reports_deletes, instance="erp-1")
    )
    return World(
        crm,
        erp,
        FakeCRMAdapter(crm, page_size=page_size),
        FakeERPAdapter(erp, page_size=page_size),
        state if state is not None else open_state(url, create=True),
        rules or Rules.default(),
        scope=scope,
        owns_state=state is None,
    )


def tally_run(report: SyncReport) -> SyncReport:
    """Count a finished run in the session tally and hand the report back."""
    TALLY.runs += 1
    TALLY.records_synced += report.writes
    return report


# --- what the engine linked ----------------------------------------------------------


def linked(world: World, entity: str) -> dict[str, dict[str, str]]:
    """global id -> {system: native id} of every link of ``entity``."""
    out: dict[str, dict[str, str]] = {}
    with world.state.transaction(world.scope) as tx:
        for system in (world.crm_adapter.system, world.erp_adapter.system):
            ids = list(tx.links.native_ids(entity, system))
            for native, (gid, _hash) in tx.links.by_native(entity, system, ids).items():
                out.setdefault(gid, {})
                if system in out[gid]:
                    TALLY.duplicates += 1
                    raise AssertionError(
                        f"{entity} {gid} is linked to two {system} records: "
                        f"{out[gid][system]} and {native}"
                    )
                out[gid][system] = native
    return out


def _native_to_global(world: World) -> dict[tuple[str, str, str], str]:
    table: dict[tuple[str, str, str], str] = {}
    for entity in ENTITIES:
        for gid, systems in linked(world, entity).items():
            for system, native in systems.items():
                table[(entity, system, native)] = gid
    return table


def live(adapter: FakeCRMAdapter | FakeERPAdapter, entity: str) -> list[NativeRecord]:
    """Every live record of ``entity`` in the adapter's system, read through the adapter."""
    table = adapter.fake.TABLES[entity]
    ids = [str(row[_id_field(adapter)]) for row in adapter.fake.find(table)]
    faults, adapter.faults = adapter.faults, None
    try:
        return adapter.fetch(entity, ids) if ids else []
    finally:
        adapter.faults = faults


def _id_field(adapter: FakeCRMAdapter | FakeERPAdapter) -> str:
    return "Id" if isinstance(adapter, FakeCRMAdapter) else "id"


# --- the checks ----------------------------------------------------------------------


def comparable(
    adapter: FakeCRMAdapter | FakeERPAdapter,
    entity: str,
    record: NativeRecord,
    fields: frozenset[str],
    to_global: Mapping[tuple[str, str, str], str],
) -> dict[str, Any]:
    """The canonical form of ``record`` on ``fields``, references as global ids."""
    model = adapter.to_canonical(entity, record)
    data = model.model_dump(mode="json", include=set(fields - {"id", "updated_at"}))
    for ref in type(model).references:
        _rewrite(
            data,
            ref.path,
            lambda value, e=ref.entity: to_global.get(
                (e, adapter.system, value), f"<unlinked {e} {value}>"
            ),
        )
    return data


def _rewrite(data: Any, path: tuple[str, ...], swap: Any) -> None:
    if isinstance(data, list):
        for item in data:
            _rewrite(item, path, swap)
        return
    if not isinstance(data, dict) or path[0] not in data:
        return
    if len(path) == 1:
        if isinstance(data[path[0]], str):
            data[path[0]] = swap(data[path[0]])
        return
    _rewrite(data[path[0]], path[1:], swap)


def disagreements(world: World, entity: str) -> list[str]:
    """Every linked pair of ``entity`` whose mapped fields differ, in words."""
    crm, erp = world.crm_adapter, world.erp_adapter
    fields = crm.mapping(entity).carried & erp.mapping(entity).carried
    to_global = _native_to_global(world)
    crm_live = {r.id: r for r in live(crm, entity)}
    erp_live = {r.id: r for r in live(erp, entity)}
    problems = []
    for gid, systems in sorted(linked(world, entity).items()):
        if crm.system not in systems or erp.system not in systems:
            continue
        a, b = crm_live.get(systems[crm.system]), erp_live.get(systems[erp.system])
        if a is None or b is None:
            problems.append(f"{entity} {gid}: linked record gone ({systems})")
            continue
        left = comparable(crm, entity, a, fields, to_global)
        right = comparable(erp, entity, b, fields, to_global)
        if left != right:
            diff = {k: (left.get(k), right.get(k)) for k in fields if left.get(k) != right.get(k)}
            problems.append(f"{entity} {a.id} / {b.id} disagree: {diff}")
    return problems


def assert_agree(world: World, *entities: str) -> None:
    """Both fakes agree on every mapped field of every linked record of ``entities``."""
    TALLY.agreement_checks += 1
    problems = [p for e in entities or ENTITIES for p in disagreements(world, e)]
    assert not problems, "\n".join(problems)


def unlinked(world: World, entity: str) -> list[str]:
    """Live records of ``entity`` on either side the engine has not linked (missed)."""
    known = {
        (system, native)
        for systems in linked(world, entity).values()
        for system, native in systems.items()
    }
    return [
        f"{adapter.system} {entity} {record.id}"
        for adapter in (world.crm_adapter, world.erp_adapter)
        for record in live(adapter, entity)
        if (adapter.system, record.id) not in known
    ]


def stamped_references(world: World, entity: str) -> dict[str, Counter[str]]:
    """system -> how many live records carry each reference the engine stamped."""
    out: dict[str, Counter[str]] = {}
    for adapter in (world.crm_adapter, world.erp_adapter):
        counts: Counter[str] = Counter()
        for record in live(adapter, entity):
            if global_id_of(record.reference) is not None:
                counts[str(record.reference)] += 1
        out[adapter.system] = counts
    return out


def duplicates(world: World, entities: Iterable[str] = ENTITIES) -> list[str]:
    """References the engine stamped that more than one live record carries."""
    found = [
        f"{system} {entity}: {reference} on {count} records"
        for entity in entities
        for system, counts in stamped_references(world, entity).items()
        for reference, count in counts.items()
        if count > 1
    ]
    TALLY.duplicates += len(found)
    return found


def assert_no_duplicates(world: World, entities: Iterable[str] = ENTITIES) -> None:
    """No reference stamped twice on one side, no global id linked twice on one side."""
    entities = list(entities)
    assert duplicates(world, entities) == []
    for entity in entities:
        linked(world, entity)
