"""Readable views of reports, conflicts, quarantine and status, as rich renderables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from crmerp.cli._output import Output

if TYPE_CHECKING:
    from crmerp.state import ConflictRecord, QuarantineRecord
    from crmerp.sync import EntityReport, SyncReport

__all__ = [
    "ENTITY_LABELS",
    "bullets",
    "conflict_detail",
    "conflict_payload",
    "conflicts_table",
    "many",
    "narrate",
    "planned_view",
    "quarantine_payload",
    "quarantine_table",
    "report_view",
    "rule_words",
    "short",
    "status_view",
]

_SIDE = {"crm": "the CRM", "erp": "the ERP"}
_MATCHED_ON = {
    "customer": "matched on name, VAT number, email, phone and address",
    "product": "matched on SKU",
}
_RULE_OUTCOME = {
    "owner:crm": "took the CRM's value (the CRM owns them)",
    "owner:erp": "took the ERP's value (the ERP owns them)",
    "latest": "took the latest change",
    "function": "were decided by a resolver function",
}
ENTITY_LABELS = {
    "customer": "customers",
    "product": "products",
    "price_list": "price lists",
    "quote": "quotes",
    "order": "orders",
    "invoice": "invoices",
}


def rule_words(rule: str) -> str:
    """A rule name as words: ``owner:erp`` -> ``the ERP owns the field``."""
    kind, _, owner = rule.partition(":")
    if kind == "owner":
        return f"{_SIDE.get(owner, owner)} owns the field"
    if kind == "latest":
        return "the latest change wins"
    if kind == "function":
        return "a resolver function decided"
    return rule


def short(value: Any, width: int = 48) -> str:
    """A value shown on one line, cut to ``width`` characters."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def bullets(lines: Sequence[str], out: Output) -> RenderableType:
    """Lines as a bulleted list whose wrapped lines stay indented."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row(Text("  •"), out.text(line))
    return grid


def many(count: int, entity: str) -> str:
    """``count`` records of ``entity`` in words: ``1 customer``, ``2 price lists``."""
    plural = ENTITY_LABELS.get(entity, entity)
    return f"{count} {plural.removesuffix('s') if count == 1 else plural}"


def _count(number: int, style: str = "") -> Text:
    return Text(str(number) if number else "·", style=style if number else "dim")


def report_view(report: SyncReport, out: Output, *, title: str | None = None) -> RenderableType:
    """The per-entity table of a run, then what it did in sentences.

    "read" counts every record read, the engine's own writes coming back
    included; "own echo" says how many of those were such echoes (nothing to
    merge).
    """
    table = Table(
        title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, title_style="bold"
    )
    table.add_column("entity", no_wrap=True)
    for header in (
        "read\nCRM",
        "read\nERP",
        "own\necho",
        "matched",
        "new in\nCRM",
        "updated\nin CRM",
        "new in\nERP",
        "updated\nin ERP",
        "deleted",
        "by\nrule",
        "parked",
        "quaran-\ntined",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for name, rep in report.entities.items():
        table.add_row(*_entity_row(name, rep))
    parts: list[RenderableType] = [table, bullets(narrate(report), out)]
    if report.stopped:
        parts.append(out.text(f"Stopped early: {report.stopped}", "bold red"))
    return Group(*parts)


def _entity_row(name: str, rep: EntityReport) -> list[Text]:
    settled = sum(rep.conflicts_resolved_by_rule.values())
    return [
        Text(name),
        _count(rep.crm.pulled),
        _count(rep.erp.pulled),
        _count(rep.crm.echoes + rep.erp.echoes, "dim"),
        _count(rep.linked_by_match, "cyan"),
        _count(rep.crm.created, "green"),
        _count(rep.crm.updated, "yellow"),
        _count(rep.erp.created, "green"),
        _count(rep.erp.updated, "yellow"),
        _count(rep.crm.deleted + rep.erp.deleted, "red"),
        _count(settled, "cyan"),
        _count(rep.conflicts_parked + rep.sent_to_review, "magenta"),
        _count(rep.crm.quarantined + rep.erp.quarantined, "red"),
    ]


def narrate(report: SyncReport) -> list[str]:
    """What a run did, in sentences a newcomer can follow."""
    if report.mode == "plan":
        return _plan_story(report)
    lines: list[str] = []
    for name, rep in report.entities.items():
        lines.extend(_story(name, rep))
    if not report.writes:
        lines.append("Nothing was written: both systems already agree.")
    return lines


def _plan_story(report: SyncReport) -> list[str]:
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for write in report.planned:
        by_side = counts.setdefault((write.entity, write.kind), {})
        by_side[write.side] = by_side.get(write.side, 0) + 1
    lines = []
    for (entity, kind), by_side in counts.items():
        where = " and ".join(f"{n} in {_SIDE[side]}" for side, n in sorted(by_side.items()))
        label = ENTITY_LABELS.get(entity, entity).capitalize()
        lines.append(f"{label} to be {kind}d: {where}.")  # created, updated, deleted
    parked = report.conflicts_parked
    if parked:
        lines.append(f"{parked} field(s) would be parked for a person.")
    if not report.planned:
        lines.append("Nothing would be written: both systems already agree.")
    return lines


def _story(name: str, rep: EntityReport) -> list[str]:
    label = ENTITY_LABELS.get(name, name)
    lines = []
    if rep.linked_by_match:
        lines.append(
            f"{many(rep.linked_by_match, name)} found in both systems: linked, not created twice "
            f"({_MATCHED_ON.get(name, 'matched')})."
        )
    if rep.sent_to_review:
        lines.append(
            f"{rep.sent_to_review} possible pair(s) of {label} were too unsure to link: "
            "parked for a person to confirm."
        )
    for what in ("created", "updated", "deleted"):
        counts = {side: int(getattr(rep.side(side), what)) for side in ("crm", "erp")}
        where = [f"{n} in {_SIDE[side]}" for side, n in counts.items() if n]
        if where:
            lines.append(f"{label.capitalize()} {what}: {' and '.join(where)}.")
    settled = rep.conflicts_resolved_by_rule
    if settled:
        how = ", ".join(
            f"{count} {_RULE_OUTCOME.get(rule, rule)}" for rule, count in sorted(settled.items())
        )
        lines.append(
            f"{sum(settled.values())} {name} field(s) held different values in the two "
            f"systems; the rules settled them: {how}."
        )
    if rep.conflicts_parked:
        lines.append(
            f"{rep.conflicts_parked} {name} field(s) were changed in both systems to "
            "different values, and the rules leave that to a person: parked."
        )
    quarantined = rep.crm.quarantined + rep.erp.quarantined
    if quarantined:
        lines.append(f"{many(quarantined, name)} quarantined: the data is invalid.")
    if rep.derived:
        lines.append(f"{rep.derived} accepted quote(s) became orders.")
    return lines


def planned_view(report: SyncReport, out: Output, limit: int | None = None) -> RenderableType:
    """The writes a plan would send, one line each, grouped by entity."""
    if not report.planned:
        return Text("Nothing to write: both systems already agree.", style="green")
    lines: list[RenderableType] = [Text(f"{len(report.planned)} write(s) planned:", style="bold")]
    shown = report.planned if limit is None else report.planned[:limit]
    for write in shown:
        lines.append(out.text(f"  {write.describe()}"))
    if limit is not None and len(report.planned) > limit:
        lines.append(
            Text(f"  … and {len(report.planned) - limit} more (--all shows every one)", style="dim")
        )
    return Group(*lines)


def conflicts_table(
    conflicts: Sequence[ConflictRecord],
    out: Output,
    labels: Mapping[tuple[str, int], str] | None = None,
) -> RenderableType:
    """Conflicts: id, the record, the field and the two values.

    ``labels`` maps ``(side, conflict id)`` to a readable name of the record
    (see :func:`crmerp.cli._labels.record_labels`).
    """
    if not conflicts:
        return Text("No open conflicts.", style="green")
    names = labels or {}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("id", "entity", "record", "field", "CRM", "ERP", "status"):
        table.add_column(header, overflow="fold")
    for conflict in conflicts:
        crm, erp = short(conflict.crm, 36), short(conflict.erp, 36)
        record = (
            names.get(("crm", conflict.id))
            or names.get(("erp", conflict.id))
            or conflict.global_id[:8]
        )
        field = conflict.field
        if conflict.kind == "match":
            record, field = "same record?", "(match)"
            crm = f"{names.get(('crm', conflict.id), '')} [{conflict.crm}]".strip()
            erp = f"{names.get(('erp', conflict.id), '')} [{conflict.erp}]".strip()
        table.add_row(
            Text(str(conflict.id), style="bold"),
            Text(conflict.entity),
            out.text(short(record, 36)),
            out.text(field),
            out.text(crm),
            out.text(erp),
            Text(conflict.status),
        )
    return table


def conflict_detail(
    conflict: ConflictRecord, out: Output, labels: Mapping[tuple[str, int], str] | None = None
) -> RenderableType:
    """Everything about one conflict, and how to resolve it."""
    names = labels or {}
    crm_name = names.get(("crm", conflict.id), "")
    erp_name = names.get(("erp", conflict.id), "")
    rows = [
        ("id", str(conflict.id)),
        ("kind", conflict.kind),
        ("entity", conflict.entity),
        ("record (global id)", conflict.global_id),
        ("field", conflict.field),
        ("status", conflict.status),
        ("parked at", conflict.created_at.isoformat()),
    ]
    if conflict.kind == "match":
        detail = conflict.detail or {}
        rows += [
            ("CRM record", f"{crm_name} [{conflict.crm}]".strip()),
            ("ERP record", f"{erp_name} [{conflict.erp}]".strip()),
            ("score", str(detail.get("score", ""))),
        ]
        for name, weight in detail.get("explanation", []):
            rows.append((f"  evidence: {name}", f"{weight:+.2f}"))
        if "reason" in detail:  # a copy that kept another record's reference
            rows.append(("why parked", str(detail["reason"])))
        hint = (
            f"{out.command(f'conflicts resolve {conflict.id} --pick link')}"
            f"   (the same {conflict.entity})\n"
            f"{out.command(f'conflicts resolve {conflict.id} --pick new')}"
            "    (different records: keep both)"
        )
    else:
        if crm_name or erp_name:
            rows.insert(4, ("record", crm_name or erp_name))
        rows += [
            ("agreed before", short(conflict.base, 200)),
            ("CRM now", short(conflict.crm, 200)),
            ("ERP now", short(conflict.erp, 200)),
            ("why parked", str((conflict.detail or {}).get("reason", ""))),
        ]
        hint = (
            f"{out.command(f'conflicts resolve {conflict.id} --pick crm')}     (the CRM's value)\n"
            f"{out.command(f'conflicts resolve {conflict.id} --pick erp')}     (the ERP's value)\n"
            f"{out.command(f'conflicts resolve {conflict.id} --value JSON')}   (your own value)"
        )
    if conflict.resolution is not None:
        rows.append(("resolution", short(conflict.resolution, 200)))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(Text(name), out.text(value))
    if conflict.status != "open":
        return table
    return Group(table, Text("\nTo resolve:", style="bold"), out.text(hint))


def conflict_payload(conflict: ConflictRecord) -> dict[str, Any]:
    """A JSON-ready dict of one conflict."""
    return {
        "id": conflict.id,
        "kind": conflict.kind,
        "entity": conflict.entity,
        "global_id": conflict.global_id,
        "field": conflict.field,
        "base": conflict.base,
        "crm": conflict.crm,
        "erp": conflict.erp,
        "detail": conflict.detail,
        "status": conflict.status,
        "resolution": conflict.resolution,
        "created_at": conflict.created_at,
        "resolved_at": conflict.resolved_at,
    }


def quarantine_table(items: Sequence[QuarantineRecord], out: Output) -> RenderableType:
    """Quarantined records with their reasons."""
    if not items:
        return Text("Nothing is quarantined.", style="green")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("id", "entity", "system", "record", "field"):
        table.add_column(header, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for item in items:
        table.add_row(
            Text(str(item.id), style="bold"),
            Text(item.entity),
            Text(item.system),
            out.text(item.native_id),
            out.text(item.field or ""),
            out.text(item.reason),
        )
    return table


def quarantine_payload(item: QuarantineRecord) -> dict[str, Any]:
    """A JSON-ready dict of one quarantined record."""
    return {
        "id": item.id,
        "entity": item.entity,
        "system": item.system,
        "native_id": item.native_id,
        "field": item.field,
        "reason": item.reason,
        "payload": item.payload,
        "created_at": item.created_at,
    }


def status_view(status: dict[str, Any], config: dict[str, Any], out: Output) -> RenderableType:
    """The config in use (secrets masked) and the state of the scope."""
    head = Table(box=None, show_header=False, pad_edge=False)
    head.add_column(style="bold")
    head.add_column()
    head.add_row(Text("config"), out.text(config["path"]))
    head.add_row(Text("state"), out.text(config["state"]["url"]))
    for role in ("crm", "erp"):
        settings = ", ".join(f"{k}={v}" for k, v in config[role]["settings"].items())
        head.add_row(Text(role.upper()), out.text(f"{config[role]['adapter']} ({settings})"))
    head.add_row(Text("scope"), out.text(config["sync"]["scope"]))
    matcher = config["sync"]["matcher"]
    if matcher == "probabilistic":
        bands = config["match"]
        matcher += f" (link from {bands['link']:g}, review from {bands['review']:g})"
    head.add_row(Text("matching"), out.text(matcher))
    head.add_row(Text("open conflicts"), Text(str(status["conflicts"])))
    head.add_row(Text("quarantined"), Text(str(status["quarantined"])))
    head.add_row(Text("lease"), out.text(status.get("lease") or "free"))
    links = Table(title="Linked records", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    links.add_column("entity")
    links.add_column("system")
    links.add_column("records", justify="right")
    for key, count in sorted(status["links"].items()):
        entity, _, system = key.partition("/")
        links.add_row(Text(entity), Text(system), Text(str(count)))
    runs = Table(title="Last runs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("run", "mode", "started", "finished"):
        runs.add_column(header)
    for run in status.get("runs", []):
        runs.add_row(
            Text(str(run.get("run_id", ""))[:8]),
            Text(str(run.get("mode", ""))),
            Text(str(run.get("started_at", ""))),
            Text(str(run.get("finished_at", ""))),
        )
    return Group(head, links, runs)
