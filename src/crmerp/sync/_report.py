"""What a run did (or, for a plan, would do), per entity and side."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["EntityReport", "PlannedWrite", "SideReport", "SyncReport"]


@attrs.define
class SideReport:
    """Counts for one entity on one side."""

    pulled: int = 0
    unchanged: int = 0
    echoes: int = 0
    staged: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    retried: int = 0
    stale: int = 0
    """Writes the system refused because the record changed since it was read:
    re-read and merged again, never written over."""
    failed: int = 0
    quarantined: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None

    @property
    def writes(self) -> int:
        """Records written to this side."""
        return self.created + self.updated + self.deleted


@attrs.define
class EntityReport:
    """What happened to one entity."""

    entity: str
    crm: SideReport = attrs.Factory(SideReport)
    erp: SideReport = attrs.Factory(SideReport)
    linked_by_match: int = 0
    sent_to_review: int = 0
    merged: int = 0
    conflicts_parked: int = 0
    conflicts_resolved_by_rule: dict[str, int] = attrs.Factory(dict)
    conflicts_settled: int = 0
    deferred: int = 0
    derived: int = 0
    unknown_native_fields: dict[str, list[str]] = attrs.Factory(dict)
    seconds: float = 0.0

    def side(self, name: str) -> SideReport:
        """The report of side ``name`` (``"crm"`` or ``"erp"``)."""
        return self.crm if name == "crm" else self.erp


@attrs.frozen
class PlannedWrite:
    """A write a run would send: to which side, what, and the field changes."""

    entity: str
    side: str
    kind: str
    global_id: str
    native_id: str | None
    changes: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        """One readable line, e.g. ``update erp customer 12: name 'A' -> 'B'``."""
        target = self.native_id or f"(new, {self.global_id[:8]})"
        fields = ", ".join(
            f"{k} {_short(old)} -> {_short(new)}" for k, (old, new) in sorted(self.changes.items())
        )
        return f"{self.kind} {self.side} {self.entity} {target}: {fields}".rstrip(": ")


def _short(value: Any) -> str:
    """A value as people read it, cut at 40 characters: text in quotes, nothing as
    ``(none)``, a record as its filled fields (``number=+49 30 1234, kind=work``),
    a list as its items joined by ``;``."""
    text = f'"{value}"' if isinstance(value, str) and value else _plain(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _plain(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "(none)"
    if isinstance(value, dict):
        filled = [(k, v) for k, v in value.items() if v not in (None, "", [], {})]
        return ", ".join(f"{k}={_plain(v)}" for k, v in filled) or "(none)"
    if isinstance(value, list | tuple):
        return "; ".join(_plain(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@attrs.define
class SyncReport:
    """The outcome of :meth:`SyncEngine.run`, :meth:`~SyncEngine.plan` or
    :meth:`~SyncEngine.reconcile`."""

    run_id: str
    mode: str
    started_at: datetime
    finished_at: datetime | None = None
    entities: dict[str, EntityReport] = attrs.Factory(dict)
    planned: list[PlannedWrite] = attrs.Factory(list)
    recovered_intents: int = 0
    stopped: str | None = None

    def entity(self, name: str) -> EntityReport:
        """The report of one entity (created on first use)."""
        if name not in self.entities:
            self.entities[name] = EntityReport(name)
        return self.entities[name]

    @property
    def writes(self) -> int:
        """Records written (or, for a plan, to be written) to either side."""
        if self.mode == "plan":
            return len(self.planned)
        return sum(e.crm.writes + e.erp.writes for e in self.entities.values())

    @property
    def conflicts_parked(self) -> int:
        """Conflicts parked for review in this run."""
        return sum(e.conflicts_parked for e in self.entities.values())

    @property
    def quarantined(self) -> int:
        """Records quarantined in this run."""
        return sum(e.crm.quarantined + e.erp.quarantined for e in self.entities.values())

    @property
    def deferred(self) -> int:
        """Records waiting (for a parent, a retry or a review)."""
        return sum(e.deferred for e in self.entities.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        return attrs.asdict(self, value_serializer=_json_value)

    def summary(self) -> str:
        """A few readable lines."""
        lines = [
            f"{self.mode} {self.run_id[:8]}: {self.writes} writes, "
            f"{self.conflicts_parked} conflicts parked, {self.quarantined} quarantined, "
            f"{self.deferred} deferred" + (f", stopped: {self.stopped}" if self.stopped else "")
        ]
        for name, rep in self.entities.items():
            stale = rep.crm.stale + rep.erp.stale
            lines.append(
                f"  {name}: crm +{rep.crm.created} ~{rep.crm.updated} -{rep.crm.deleted}, "
                f"erp +{rep.erp.created} ~{rep.erp.updated} -{rep.erp.deleted}, "
                f"echoes {rep.crm.echoes + rep.erp.echoes}, matched {rep.linked_by_match}, "
                f"conflicts {rep.conflicts_parked}"
                + (f", stale {stale} (re-read, merged next run)" if stale else "")
            )
        return "\n".join(lines)


def _json_value(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
