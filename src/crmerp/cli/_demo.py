"""``crmerp demo``: a small company's CRM and ERP, synced on the embedded SQLite state.

The first run seeds a fake CRM and a fake ERP (JSON files in the working
directory), syncs them, lets people edit both systems for a day, and syncs again.
Every later run reuses the files and syncs once more: with nothing edited in
between, it writes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import attrs
import typer

from crmerp.cli._commands import DebugOption, JsonOption
from crmerp.cli._exit import ExitCode
from crmerp.cli._output import Output

__all__ = ["SCOPE", "DemoFiles", "demo"]

SCOPE = "demo"
"""The sync scope of the demo's state."""


@attrs.frozen
class DemoFiles:
    """Where the demo keeps its two systems, its state and a config to explore them."""

    folder: Path

    @property
    def state(self) -> Path:
        """The SQLite sync state."""
        return self.folder / "crmerp-demo.db"

    @property
    def crm(self) -> Path:
        """The fake CRM's records."""
        return self.folder / "crmerp-demo-crm.json"

    @property
    def erp(self) -> Path:
        """The fake ERP's records."""
        return self.folder / "crmerp-demo-erp.json"

    @property
    def config(self) -> Path:
        """A ``crmerp.toml`` for the demo, so every other command can be tried on it."""
        return self.folder / "crmerp-demo.toml"

    @property
    def url(self) -> str:
        """The state's URL."""
        return f"sqlite:///{self.state}"

    def essential(self) -> list[Path]:
        """The files a demo needs to be continued."""
        return [self.state, self.crm, self.erp]

    def remove(self) -> None:
        """Delete every file of an earlier demo."""
        for path in [*self.essential(), self.config]:
            for extra in ("", "-wal", "-shm", "-journal", ".generation"):
                Path(f"{path}{extra}").unlink(missing_ok=True)

    def write_config(self) -> None:
        """A config naming the demo's adapters, files and state."""
        self.config.write_text(
            "# Written by `crmerp demo`. Try the other commands on the demo's systems:\n"
            "#   crmerp status -c crmerp-demo.toml\n"
            "#   crmerp conflicts list -c crmerp-demo.toml\n\n"
            f'[state]\nurl = "sqlite:///{self.state.name}"\n\n'
            f'[crm]\nadapter = "fake-crm"\n\n[crm.settings]\npath = {_toml(self.crm)}\n\n'
            f'[erp]\nadapter = "fake-erp"\n\n[erp.settings]\npath = {_toml(self.erp)}\n\n'
            f'[sync]\nscope = "{SCOPE}"\n',
            encoding="utf-8",
        )


def _toml(path: Path) -> str:
    return '"' + str(path.resolve()).replace("\\", "\\\\").replace('"', '\\"') + '"'


def demo(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete an earlier demo in this folder and start over.")
    ] = False,
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo's files.", file_okay=False)
    ] = Path(),
    customers: Annotated[
        int,
        typer.Option(
            "--customers",
            min=20,
            max=5000,
            help="Customers in the ERP (the CRM gets about as "
            "many, most of them the same companies typed in again).",
        ),
    ] = 300,
    progress: Annotated[
        bool,
        typer.Option("--progress/--no-progress", help="Progress bars on stderr (terminals only)."),
    ] = True,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Sync a small company's CRM and ERP, simulated, on a SQLite state file here.

    The first run creates ./crmerp-demo-crm.json and ./crmerp-demo-erp.json (the
    two systems: a few hundred customers, many typed into both with small
    differences, a catalogue with price lists and discounts, quotes, orders and
    invoices) and ./crmerp-demo.db (the sync state). It syncs, lets people edit
    both systems for a day (some edits collide), syncs again and reports what was
    linked, created, updated, settled by rules and parked for a person.

    Run it again to see that a sync with nothing new writes nothing. --fresh
    starts over. It also writes ./crmerp-demo.toml, so `crmerp status`,
    `crmerp conflicts list` and the other commands can be tried on the demo.
    """
    # The seeding, the engine and the reports: imported only when the demo runs.
    from crmerp.cli._demo_run import DemoRun

    out = Output(as_json=as_json, debug=debug)
    files = DemoFiles(folder)
    with out.guarded():
        if fresh:
            files.remove()
        found = [p for p in files.essential() if p.exists()]
        if found and len(found) < len(files.essential()):
            missing = ", ".join(p.name for p in files.essential() if not p.exists())
            out.fail(
                f"an earlier demo here is incomplete (missing {missing}); "
                "run `crmerp demo --fresh` to start over"
            )
        started = time.perf_counter()
        runner = DemoRun(out, files, progress=progress and not as_json)
        if found:
            runner.again()
        else:
            runner.first(customers)
        files.write_config()
        runner.finish(time.perf_counter() - started)
    raise typer.Exit(int(ExitCode.OK))
