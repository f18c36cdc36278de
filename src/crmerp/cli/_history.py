"""``crmerp history ENTITY ID``: why a record's fields have their values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from crmerp.cli._commands import ConfigOption, DebugOption, JsonOption, _loaded, _open_engine
from crmerp.cli._output import Output

if TYPE_CHECKING:
    from crmerp.state import AuditEntry
    from crmerp.sync import RecordHistory

__all__ = ["change_payload", "history"]

_RULES = {
    "first-seen": "first sync of the record",
    "only-change": "only one side changed it",
    "same-change": "both sides changed it alike",
    "sides-agree": "the sides came to agree",
    "resolved": "settled by a person",
    "latest": "the latest change won",
    "function": "the rule's function chose",
}


def _rule(rule: str) -> str:
    if rule.startswith("decided:"):
        return f"a person decided: {rule.removeprefix('decided:')}"
    if rule.startswith("owner:"):
        return f"{rule.removeprefix('owner:').upper()} owns the field"
    return _RULES.get(rule, rule)


def change_payload(change: AuditEntry) -> dict[str, Any]:
    """A JSON-ready dict of one audit line."""
    return {
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "origin": change.origin,
        "rule": change.rule,
        "run_id": change.run_id,
        "at": change.at.isoformat(),
    }


def _view(found: RecordHistory, out: Output) -> RenderableType:
    from crmerp.sync._report import _short

    ids = ", ".join(f"{system} {native}" for system, native in sorted(found.native_ids.items()))
    head = out.text(f"{found.entity} {found.global_id} ({ids or 'not linked'})", "bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("when (UTC)", "field", "was", "became", "from", "why", "run"):
        table.add_column(header)
    for change in found.changes:
        first = change.field == "*"
        table.add_row(
            Text(change.at.strftime("%Y-%m-%d %H:%M:%S")),
            Text("(record)" if first else change.field),
            out.text("" if first else _short(change.old)),
            out.text("" if first else _short(change.new)),
            Text(change.origin),
            Text(_rule(change.rule)),
            Text(change.run_id[:8], style="dim"),
        )
    if not found.changes:
        return Group(head, Text("No change recorded for this record yet.", style="dim"))
    return Group(head, table)


def history(
    entity: Annotated[str, typer.Argument(help="customer, product, price_list, quote, ...")],
    record_id: Annotated[
        str, typer.Argument(help="The record's id in the CRM or the ERP, or its global id.")
    ],
    config: ConfigOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Only the N newest changes.", min=1)
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show why a record's fields have their values: every change, newest first.

    Each line says the old and new value, the system it came from, the rule
    that decided (the owning system, the latest change, a person...), the run
    and the time.
    """
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            found = engine.history(entity, record_id, limit=limit)
        out.show(_view(found, out))
        out.json(
            {
                "entity": found.entity,
                "global_id": found.global_id,
                "native_ids": found.native_ids,
                "changes": [change_payload(c) for c in found.changes],
            }
        )
