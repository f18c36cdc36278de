"""The commands driven by ``crmerp.toml``: init, plan, sync, status, conflicts, quarantine."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crmerp.cli._config import Config, load_config
from crmerp.cli._exit import ExitCode, outcome
from crmerp.cli._labels import record_labels
from crmerp.cli._output import Output
from crmerp.cli._render import (
    conflict_detail,
    conflict_payload,
    conflicts_table,
    planned_view,
    quarantine_payload,
    quarantine_table,
    report_view,
    status_view,
)

# The engine, the state and the adapters are imported when a command runs (see
# _open_engine), not here: building the app and showing --help must stay cheap.
if TYPE_CHECKING:
    from crmerp.sync import SyncEngine, SyncReport

__all__ = [
    "ConfigOption",
    "DebugOption",
    "JsonOption",
    "Pick",
    "conflicts_list",
    "conflicts_resolve",
    "conflicts_show",
    "init",
    "plan",
    "quarantine_list",
    "quarantine_retry",
    "status",
    "sync",
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="CRMERP_CONFIG",
        show_default="./crmerp.toml",
        help="The config file (adapters, state, rules).",
        dir_okay=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document for programs instead of text."),
]
DebugOption = Annotated[
    bool,
    typer.Option("--debug", help="Show the full traceback when something fails."),
]
ENTITY_NAMES = ("customer", "product", "price_list", "quote", "order", "invoice")
"""The entities ``--entity`` takes: :data:`crmerp.adapters.ENTITIES`, written out so
that building the command does not import the library (a test holds them equal)."""


def _known_entities(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        if value not in ENTITY_NAMES:
            hint = next((n for n in ENTITY_NAMES if value.rstrip("s") == n), None)
            raise typer.BadParameter(
                f"no entity {value!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; known: {', '.join(ENTITY_NAMES)}"
            )
    return values


EntityOption = Annotated[
    list[str] | None,
    typer.Option(
        "--entity",
        "-e",
        metavar="ENTITY",
        callback=_known_entities,
        help="Only this entity (repeatable): customer, product, "
        "price_list, quote, order, invoice. Default: all.",
    ),
]


def _loaded(out: Output, path: Path | None) -> Config:
    config = load_config(path)
    out.redact = config.redact
    if path is not None:
        out.config_flag = f" -c {shlex.quote(str(path))}"
    return config


def _open_engine(
    config: Config, *, progress: Callable[[str, str, int], None] | None = None
) -> AbstractContextManager[SyncEngine]:
    """:func:`~crmerp.cli._session.open_engine`, imported only when a command runs."""
    from crmerp.cli._session import open_engine

    return open_engine(config, progress=progress)


def _scope_code(engine: SyncEngine) -> tuple[int, int, ExitCode]:
    conflicts = len(engine.conflicts())
    quarantined = len(engine.quarantined())
    return conflicts, quarantined, outcome(conflicts, quarantined)


def _report_payload(
    report: SyncReport, conflicts: int, quarantined: int, code: ExitCode
) -> dict[str, Any]:
    payload = report.to_dict()
    payload["planned"] = [
        {
            "entity": w.entity,
            "side": w.side,
            "kind": w.kind,
            "global_id": w.global_id,
            "native_id": w.native_id,
            "changes": {k: list(v) for k, v in w.changes.items()},
            "description": w.describe(),
        }
        for w in report.planned
    ]
    return {
        "report": payload,
        "writes": report.writes,
        "open_conflicts": conflicts,
        "quarantined": quarantined,
        "exit_code": int(code),
    }


def _waiting(out: Output, conflicts: int, quarantined: int) -> None:
    if conflicts:
        out.show(f"{conflicts} conflict(s) wait for you: {out.command('conflicts list')}")
    if quarantined:
        out.show(f"{quarantined} record(s) are quarantined: {out.command('quarantine list')}")


# --- init, plan, sync, status ------------------------------------------------------------


def init(
    config: ConfigOption = None,
    rebaseline: Annotated[
        bool,
        typer.Option(
            "--rebaseline",
            help="The state file was lost or damaged and is started anew: accept the new "
            "state (the next sync re-reads both systems and links by reference).",
        ),
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Create the sync state the config names (once, before the first sync).

    crmerp never takes a missing state for a first run: a state file that
    vanished must stop a sync, not start it over. So a new state is made here,
    on purpose. Running init on an existing state only checks it. The adapters'
    settings are checked first, as plan checks them. After a lost state file,
    give --rebaseline (see `crmerp state rebaseline`).
    """
    from crmerp.cli._session import open_state_for

    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        for role in ("crm", "erp"):  # the settings checked as plan checks them, before a state
            loaded.build_adapter(role).close()
        with open_state_for(loaded, create=True, rebaseline=rebaseline):
            pass
        out.show(f"State ready at {loaded.redact(loaded.state_url)}. Next: {out.command('plan')}")
        out.json({"state": loaded.redact(loaded.state_url), "ready": True})


def plan(
    config: ConfigOption = None,
    entity: EntityOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every planned write, not the first 50.")
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show what a sync would write to each system, without writing anything.

    Exit code: 0 when nothing waits for a person, 3 when conflicts are open or
    the plan would park some, 4 when records are quarantined.
    """
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            report = engine.plan(entity or None)
            conflicts, quarantined, _ = _scope_code(engine)
        conflicts += report.conflicts_parked
        code = outcome(conflicts, quarantined + report.quarantined)
        out.show(
            planned_view(report, out, limit=None if show_all else 50),
            report_view(report, out, title="What the sync would do"),
        )
        _waiting(out, conflicts, quarantined)
        out.json(_report_payload(report, conflicts, quarantined, code))
    raise typer.Exit(int(code))


def sync(
    config: ConfigOption = None,
    entity: EntityOption = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Compare both systems completely to repair "
            "drift (slower; catches missed changes and deletes).",
        ),
    ] = False,
    progress: Annotated[
        bool,
        typer.Option("--progress/--no-progress", help="Progress bars on stderr (terminals only)."),
    ] = True,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="With --json: list every record the run changed, field by field "
            "(old, new, origin, rule).",
        ),
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Sync both systems: pull changes, link, merge under the rules, write, commit.

    Exit code: 0 clean, 3 when conflicts are open, 4 when records are
    quarantined (3 wins over 4), 1 on failure.
    """
    from crmerp.cli._progress import RunProgress

    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with (
            RunProgress(out.err, enabled=progress and not as_json) as bars,
            _open_engine(loaded, progress=bars) as engine,
        ):
            report = engine.reconcile(entity or None) if reconcile else engine.run(entity or None)
            conflicts, quarantined, code = _scope_code(engine)
            changed = engine.run_changes(report.run_id) if detail and as_json else None
        seconds = ((report.finished_at or report.started_at) - report.started_at).total_seconds()
        out.show(
            report_view(
                report,
                out,
                title=f"Sync {report.run_id[:8]}: {report.writes} write(s) in {seconds:.1f} s",
            )
        )
        _waiting(out, conflicts, quarantined)
        payload = _report_payload(report, conflicts, quarantined, code)
        if changed is not None:
            from crmerp.cli._history import change_payload

            payload["changes"] = [
                {
                    "entity": record.entity,
                    "global_id": record.global_id,
                    "native_ids": record.native_ids,
                    "fields": [change_payload(c) for c in record.changes],
                }
                for record in changed
            ]
        out.json(payload)
    raise typer.Exit(int(code))


def status(
    config: ConfigOption = None, as_json: JsonOption = False, debug: DebugOption = False
) -> None:
    """Show the config in use (secrets masked), links, open conflicts, quarantine, last runs.

    Exit code: 0 clean, 3 when conflicts are open, 4 when records are quarantined.
    """
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            state = engine.status()
        code = outcome(state["conflicts"], state["quarantined"])
        out.show(status_view(state, loaded.shown(), out))
        out.json({"config": loaded.shown(), "status": state, "exit_code": int(code)})
    raise typer.Exit(int(code))


# --- conflicts ---------------------------------------------------------------------------


def conflicts_list(
    config: ConfigOption = None,
    every: Annotated[
        bool, typer.Option("--all", help="Also list resolved and applied conflicts.")
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List conflicts waiting for a person (parked fields and match reviews).

    Exit code: 0 when none is open, 3 when some are.
    """
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            found = engine.conflicts(None if every else "open")
            open_count = len(engine.conflicts())
            labels = record_labels(engine, found) if not as_json else {}
        out.show(conflicts_table(found, out, labels))
        if open_count:
            out.show(f"Show one with: {out.command('conflicts show ID')}")
        out.json([conflict_payload(c) for c in found])
    raise typer.Exit(int(outcome(open_count, 0)))


def conflicts_show(
    conflict_id: Annotated[
        int, typer.Argument(help="The conflict's id, from `crmerp conflicts list`.")
    ],
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show one conflict in full: the agreed value, both sides' values, and how to resolve it."""
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            found = {c.id: c for c in engine.conflicts(None)}
            if conflict_id not in found:
                out.fail(f"no conflict {conflict_id}; see `crmerp conflicts list --all`")
            labels = record_labels(engine, [found[conflict_id]])
        out.show(conflict_detail(found[conflict_id], out, labels))
        out.json(conflict_payload(found[conflict_id]))


class Pick(StrEnum):
    """Which value settles a conflict: a side's (field conflicts) or a match decision."""

    CRM = "crm"
    ERP = "erp"
    LINK = "link"
    NEW = "new"


def _user() -> str | None:
    """Who runs the command, for the audit trail (``None`` where the system cannot say)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return None


def _value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id.")],
    pick: Annotated[
        Pick | None,
        typer.Option(
            "--pick",
            help="crm or erp: take that side's value (field conflicts); link or new: "
            "the same record, or different ones (match reviews).",
        ),
    ] = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value", help="A value of your own, as JSON (a bare word is taken as text)."
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Settle a parked conflict; the next `crmerp sync` writes the outcome to both systems."""
    out = Output(as_json=as_json, debug=debug)
    if (pick is None) == (value is None):
        out.fail("give exactly one of --pick or --value", ExitCode.USAGE)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            if value is not None:
                engine.resolve(conflict_id, value=_value(value), by=_user())
            else:
                engine.resolve(conflict_id, pick=pick.value if pick else None, by=_user())
        how = f"--pick {pick.value}" if pick else f"--value {value}"
        out.show(
            f"Conflict {conflict_id} resolved ({how}). Run `{out.command('sync')}` to apply it."
        )
        out.json(
            {
                "id": conflict_id,
                "pick": pick.value if pick else None,
                "value": _value(value),
                "resolved": True,
            }
        )


# --- quarantine --------------------------------------------------------------------------


def quarantine_list(
    config: ConfigOption = None, as_json: JsonOption = False, debug: DebugOption = False
) -> None:
    """List records set aside because their data is bad, with the reason.

    Exit code: 0 when nothing is quarantined, 4 when something is.
    """
    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            items = engine.quarantined()
        out.show(quarantine_table(items, out))
        if items:
            out.show(
                "Fix the records in their system, then: " + out.command("quarantine retry --all")
            )
        out.json([quarantine_payload(q) for q in items])
    raise typer.Exit(int(outcome(0, len(items))))


def quarantine_retry(
    ids: Annotated[
        list[int] | None,
        typer.Argument(help="Ids from `crmerp quarantine list`.", show_default=False),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Retry every quarantined record.")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Put quarantined records back in line; the next `crmerp sync` tries them again."""
    out = Output(as_json=as_json, debug=debug)
    if not ids and not every:
        out.fail("give quarantine ids or --all", ExitCode.USAGE)
    with out.guarded():
        loaded = _loaded(out, config)
        with _open_engine(loaded) as engine:
            count = engine.retry_quarantined(None if every else ids, by=_user())
        out.show(
            f"{count} record(s) put back in line. Run `{out.command('sync')}` to try them again."
        )
        out.json({"retried": count})
