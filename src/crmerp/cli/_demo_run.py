"""The run behind ``crmerp demo``: seeding, the syncs, and what it tells the user.

Kept apart from :mod:`crmerp.cli._demo`, which only declares the command, so that
the engine, the state, the fake systems and the models are imported when the demo
runs, not whenever the ``crmerp`` app is built or asked for ``--help``.
"""

from __future__ import annotations

from typing import Any

import attrs
from rich.console import RenderableType
from rich.rule import Rule
from rich.text import Text

from crmerp.adapters import ENTITIES
from crmerp.cli._demo import SCOPE, DemoFiles
from crmerp.cli._labels import record_labels
from crmerp.cli._output import Output
from crmerp.cli._progress import RunProgress
from crmerp.cli._render import (
    ENTITY_LABELS,
    conflicts_table,
    quarantine_table,
    report_view,
)
from crmerp.cli._seed import Company, DayTwo, day_two, seed
from crmerp.cli._session import make_matcher
from crmerp.state import StateStore, open_state
from crmerp.sync import SyncEngine, SyncReport
from crmerp.testing import FakeCRM, FakeCRMAdapter, FakeERP, FakeERPAdapter

__all__ = ["DemoRun"]


class DemoRun:
    """One run of ``crmerp demo``: a first run seeds and syncs twice, a later one syncs again."""

    def __init__(self, out: Output, files: DemoFiles, *, progress: bool) -> None:
        self.out = out
        self.files = files
        self.progress = progress
        self.payload: dict[str, Any] = {
            "files": {
                "state": str(files.state),
                "crm": str(files.crm),
                "erp": str(files.erp),
                "config": str(files.config),
            },
            "runs": [],
        }
        self.conflicts = 0
        self.quarantined = 0

    # --- the two paths ------------------------------------------------------------------

    def first(self, customers: int) -> None:
        out = self.out
        out.show(
            Text(
                "crmerp demo: Kaffeewerk Nord, a coffee-equipment supplier, and its CRM and ERP",
                style="bold",
            ),
            Text(
                "Sales works in the CRM, accounting in the ERP. Both keep customers; "
                "the ERP owns the catalogue and prices; quotes start in the CRM; "
                "orders and invoices are booked in the ERP.",
                style="dim",
            ),
        )
        crm, erp = FakeCRM(self.files.crm), FakeERP(self.files.erp)
        company = seed(crm, erp, customers=customers)
        crm.save()
        erp.save()
        self._seeded(company)
        with open_state(self.files.url, create=True) as state:
            totals = {
                (entity, f"read {side}"): count
                for side, counts in (("crm", company.counts.crm), ("erp", company.counts.erp))
                for entity, count in counts.items()
            }
            self._sync(state, crm, erp, "Day 1: the first sync", totals)
            crm.clock.advance(86400)
            erp.clock.advance(86400)
            edits = day_two(company, _customer_links(state, crm, erp, company))
            crm.save()
            erp.save()
            self._edited(edits)
            self._sync(state, crm, erp, "Day 2: the second sync")
            self._waiting(state, crm, erp)

    def again(self) -> None:
        out = self.out
        out.show(
            Text("crmerp demo: syncing the demo in this folder again", style="bold"),
            Text(
                "Nobody edited either system since the last run, so there is nothing "
                "to write. (`crmerp demo --fresh` starts over.)",
                style="dim",
            ),
        )
        crm, erp = FakeCRM(self.files.crm), FakeERP(self.files.erp)
        with open_state(self.files.url) as state:
            self._sync(state, crm, erp, "Sync again")
            self._waiting(state, crm, erp)

    def finish(self, seconds: float) -> None:
        out = self.out
        out.show(
            Rule(style="dim"),
            f"Done in {seconds:.1f} s. Files: {self.files.crm.name} (the CRM), "
            f"{self.files.erp.name} (the ERP), {self.files.state.name} (the sync state).",
            Text("Next:", style="bold"),
            "  crmerp demo                                  sync again: nothing is written",
            "  crmerp conflicts list -c crmerp-demo.toml    what waits for a person",
            "  crmerp conflicts resolve ID --pick crm -c crmerp-demo.toml",
            "  crmerp status -c crmerp-demo.toml            links, cursors, last runs",
            "  crmerp demo --fresh                          start over",
        )
        self.payload.update(
            seconds=round(seconds, 3), open_conflicts=self.conflicts, quarantined=self.quarantined
        )
        out.json(self.payload)

    # --- steps --------------------------------------------------------------------------

    def _engine(
        self, state: StateStore, crm: FakeCRM, erp: FakeERP, progress: RunProgress | None = None
    ) -> SyncEngine:
        return SyncEngine(
            crm=FakeCRMAdapter(crm),
            erp=FakeERPAdapter(erp),
            state=state,
            matcher=make_matcher("probabilistic"),
            scope=SCOPE,
            progress=progress,
        )

    def _sync(
        self,
        state: StateStore,
        crm: FakeCRM,
        erp: FakeERP,
        title: str,
        totals: dict[tuple[str, str], int] | None = None,
    ) -> SyncReport:
        with RunProgress(self.out.err, totals=totals, enabled=self.progress) as bars:
            engine = self._engine(state, crm, erp, bars)
            report = engine.run()
            engine.close()
        seconds = ((report.finished_at or report.started_at) - report.started_at).total_seconds()
        self.out.show(
            Rule(style="dim"),
            report_view(
                report, self.out, title=f"{title}: {report.writes} write(s) in {seconds:.1f} s"
            ),
        )
        self.payload["runs"].append(
            {"title": title, "writes": report.writes, "report": report.to_dict()}
        )
        return report

    def _seeded(self, company: Company) -> None:
        counts = company.counts
        self.out.show(
            Rule(style="dim"),
            Text("Before the first sync", style="bold"),
            "  CRM: " + _listing(counts.crm),
            "  ERP: " + _listing(counts.erp),
            f"  {counts.in_both} customers were typed into both systems, with small "
            "differences (no VAT number in the CRM, another email, a shipping "
            "address).",
        )
        self.payload["seeded"] = {
            "crm": counts.crm,
            "erp": counts.erp,
            "customers_in_both": counts.in_both,
        }

    def _edited(self, edits: DayTwo) -> None:
        lines: list[RenderableType] = [
            Rule(style="dim"),
            Text("Day 2: people edit both systems", style="bold"),
        ]
        for label, items in (("CRM", edits.crm), ("ERP", edits.erp), ("both", edits.both)):
            lines.extend(self.out.text(f"  {label}: {item}") for item in items)
        self.out.show(*lines)
        self.payload["day_two"] = attrs.asdict(edits)

    def _waiting(self, state: StateStore, crm: FakeCRM, erp: FakeERP) -> None:
        engine = self._engine(state, crm, erp)
        conflicts, quarantined = engine.conflicts(), engine.quarantined()
        self.conflicts, self.quarantined = len(conflicts), len(quarantined)
        self.out.show(
            Rule(style="dim"),
            Text(
                f"Waiting for a person: {len(conflicts)} conflict(s), "
                f"{len(quarantined)} quarantined record(s)",
                style="bold",
            ),
        )
        if conflicts:
            self.out.show(
                Text(
                    "Parked conflicts: both systems changed the same field and the "
                    "rules leave the choice to a person"
                    + (
                        " (match: two records that may be the same customer)."
                        if any(c.kind == "match" for c in conflicts)
                        else "."
                    ),
                    style="dim",
                ),
                conflicts_table(conflicts, self.out, record_labels(engine, conflicts)),
            )
        if quarantined:
            self.out.show(
                Text(
                    "Quarantined: records whose data is invalid; the rest of the "
                    "sync went on without them.",
                    style="dim",
                ),
                quarantine_table(quarantined, self.out),
            )


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[e]} {ENTITY_LABELS[e]}" for e in ENTITIES if counts.get(e))


def _customer_links(
    state: StateStore, crm: FakeCRM, erp: FakeERP, company: Company
) -> dict[str, str]:
    """CRM customer id -> ERP customer id, as the first sync linked them."""
    with state.transaction(SCOPE) as tx:
        by_native = tx.links.by_native("customer", crm.name, company.crm_customers)
        gids = sorted({gid for gid, _hash in by_native.values()})
        by_global = tx.links.by_global("customer", gids)
    links: dict[str, str] = {}
    for crm_id, (gid, _hash) in by_native.items():
        erp_side = by_global.get(gid, {}).get(erp.name)
        if erp_side is not None:
            links[crm_id] = erp_side[0]
    return links
