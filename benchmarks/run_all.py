"""Run every benchmark and write the figures, with the machine they ran on, to RESULTS.md.

    python benchmarks/run_all.py            # every benchmark at its default size
    python benchmarks/run_all.py --quick    # smaller sizes: a minute or two
    python benchmarks/run_all.py --only sync --only demo --output /tmp/results.md

Each ``benchmarks/*.py`` script (this one and ``_*.py`` aside) runs in its own
process, so one benchmark's memory does not weigh on the next and peak-memory
figures stay honest. Every line a script prints is a figure; an indented line
belongs to the unindented line above it (its case). ``demo`` times
``crmerp demo`` itself: the first run and the second, which writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
PACKAGES = (
    "crmerp",
    "pydantic",
    "SQLAlchemy",
    "rapidfuzz",
    "phonenumbers",
    "python-stdnum",
    "typer",
    "rich",
    "psycopg",
)

QUICK_ARGS: dict[str, list[str]] = {
    "match": ["2000", "10000"],
    "sync": ["--records", "10000"],
    "sync_floor": ["--records", "10000"],
    "models": ["--seconds", "0.5"],
    "demo": ["--customers", "300"],
    "peers": ["--records", "2000"],
    "latency": ["--customers", "2000", "--duration", "6", "--quiet", "5"],
}
"""Arguments for ``--quick``; a script not listed runs with its defaults."""


@dataclass
class Outcome:
    """What one benchmark printed, how long it took, and whether it finished."""

    name: str
    command: list[str]
    seconds: float
    figures: list[tuple[str, str]] = field(default_factory=list)
    failed: str | None = None


def scripts() -> list[str]:
    """The benchmark names: every script here except this one and private helpers."""
    names = sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.name != Path(__file__).name and not p.stem.startswith("_")
    )
    return [*names, "demo"]


def figures_of(output: str) -> list[tuple[str, str]]:
    """``(case, figure)`` for each printed line; indented lines belong to the case above."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    rows: list[tuple[str, str]] = []
    case = ""
    for index, line in enumerate(lines):
        indented = line[:1].isspace()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not indented and following[:1].isspace():
            case = line.strip()
            continue
        rows.append((case if indented else "", " ".join(line.split())))
        if not indented:
            case = ""
    return rows


def _env() -> dict[str, str]:
    """This checkout's crmerp first on the path, whether or not it is installed."""
    paths = [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run_script(name: str, args: Sequence[str]) -> Outcome:
    """Run ``benchmarks/<name>.py`` with ``args`` in a fresh process."""
    command = [sys.executable, str(HERE / f"{name}.py"), *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, env=_env()
    )
    outcome = Outcome(
        name,
        [f"benchmarks/{name}.py", *args],
        time.perf_counter() - started,
        figures_of(done.stdout),
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        outcome.failed = f"exit code {done.returncode}: {last}"
    return outcome


def run_demo(args: Sequence[str]) -> Outcome:
    """Time ``crmerp demo`` in an empty folder, then again (which must write nothing)."""
    command = [sys.executable, "-m", "crmerp.cli", "demo", "--no-progress", "--json", *args]
    outcome = Outcome("demo", ["crmerp", *command[3:]], 0.0)
    with tempfile.TemporaryDirectory() as folder:
        for label in ("first run (seed, sync, a day of edits, sync)", "second run"):
            cpu_before = _children_cpu()
            started = time.perf_counter()
            done = subprocess.run(
                command, cwd=folder, capture_output=True, text=True, check=False, env=_env()
            )
            seconds = time.perf_counter() - started
            cpu = _children_cpu() - cpu_before
            outcome.seconds += seconds
            if done.returncode != 0:
                outcome.failed = f"{label}: exit code {done.returncode}: {done.stderr.strip()}"
                return outcome
            report = json.loads(done.stdout)
            writes = sum(run["writes"] for run in report["runs"])
            outcome.figures.append(
                ("", f"{label}: {seconds:.2f} s wall, {cpu:.2f} s CPU, {writes} writes")
            )
    return outcome


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine(load_before: str) -> list[tuple[str, str]]:
    """What the figures were measured on; ``load_before`` is the load average at the start."""
    rows = [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPUs, {_memory()}"),
        ("system", platform.platform()),
        ("processor", _processor()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "load average",
            f"{load_before} at the start, {_load()} at the end "
            "(other processes share the CPUs: compare CPU times rather than wall times)",
        ),
        ("commit", _commit()),
    ]
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    rows.append(("packages", ", ".join(versions)))
    return rows


def _load() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return "RAM unknown"


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    commit = done.stdout.strip() or "unknown"
    return f"{commit} (with local changes)" if dirty.stdout.strip() else commit


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(outcomes: Sequence[Outcome], quick: bool, load_before: str) -> str:
    """The results page: how to reproduce, the machine, then one table of figures."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run_all.py"
        + (" --quick" if quick else "")
        + "`. Figures, not assertions: run it again on your",
        "machine to compare. Each benchmark runs in its own process.",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_cell(value)} |" for name, value in machine(load_before)]
    lines += ["", "| benchmark | case | figure |", "|---|---|---|"]
    for outcome in outcomes:
        command = " ".join(shlex.quote(part) for part in outcome.command)
        lines.append(
            f"| **{outcome.name}** | `{_cell(command)}` | {outcome.seconds:.1f} s in all |"
        )
        previous = ""
        for case, figure in outcome.figures:
            shown = case if case != previous else ""  # a case names its first row only
            previous = case
            lines.append(f"| | {_cell(shown)} | {_cell(figure)} |")
        if outcome.failed:
            lines.append(f"| | | **failed**: {_cell(outcome.failed)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and write the results page; 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", action="append", choices=scripts(), help="repeatable")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    outcomes = []
    load_before = _load()
    for name in args.only or scripts():
        extra = QUICK_ARGS.get(name, []) if args.quick else []
        print(f"running {name} {' '.join(extra)}".rstrip(), flush=True)
        outcome = run_demo(extra) if name == "demo" else run_script(name, extra)
        for case, figure in outcome.figures:
            print(f"  {case + ': ' if case else ''}{figure}")
        if outcome.failed:
            print(f"  FAILED {outcome.failed}")
        outcomes.append(outcome)
    args.output.write_text(markdown(outcomes, args.quick, load_before), encoding="utf-8")
    print(f"wrote {args.output}")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
