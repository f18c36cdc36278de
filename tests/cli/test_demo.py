"""`crmerp demo`: seeds, syncs twice, reports; a second demo writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke


def _demo(invoke: Invoke, *args: str) -> dict:
    result = invoke("demo", "--customers", "40", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_second_demo_writes_nothing(folder: Path, invoke: Invoke) -> None:
    first = _demo(invoke)
    assert [run["title"] for run in first["runs"]] == [
        "Day 1: the first sync",
        "Day 2: the second sync",
    ]
    assert all(run["writes"] > 0 for run in first["runs"])
    for name in (
        "crmerp-demo.db",
        "crmerp-demo-crm.json",
        "crmerp-demo-erp.json",
        "crmerp-demo.toml",
    ):
        assert (folder / name).is_file()

    again = _demo(invoke)

    assert [run["writes"] for run in again["runs"]] == [0]
    assert again["open_conflicts"] == first["open_conflicts"]


def test_the_report_explains_itself(folder: Path, invoke: Invoke) -> None:
    result = invoke("demo", "--customers", "40")

    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for phrase in (
        "Before the first sync",
        "Day 1: the first sync",
        "found in both systems: linked",
        "Day 2: people edit both systems",
        "the rules settled them",
        "leave that to a person",
        "Waiting for a person",
        "quarantined",
    ):
        assert phrase in text, phrase


def test_fresh_starts_over(folder: Path, invoke: Invoke) -> None:
    _demo(invoke)

    restarted = _demo(invoke, "--fresh")

    assert len(restarted["runs"]) == 2
    assert restarted["runs"][0]["writes"] > 0


def test_an_incomplete_earlier_demo_is_not_taken_for_a_new_one(
    folder: Path, invoke: Invoke
) -> None:
    _demo(invoke)
    (folder / "crmerp-demo-erp.json").unlink()

    result = invoke("demo")

    assert result.exit_code == 1
    assert "crmerp-demo-erp.json" in result.stderr
    assert "--fresh" in result.stderr


def test_the_demo_config_drives_the_other_commands(folder: Path, invoke: Invoke) -> None:
    demo = _demo(invoke)

    listed = invoke("conflicts", "list", "--json", "-c", "crmerp-demo.toml")

    assert listed.exit_code == (3 if demo["open_conflicts"] else 0)
    assert len(json.loads(listed.stdout)) == demo["open_conflicts"]
