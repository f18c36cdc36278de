"""How a planned write reads in a plan: values as people write them, not Python reprs."""

from __future__ import annotations

from decimal import Decimal

from crmerp.sync import PlannedWrite


def _line(changes: dict[str, tuple[object, object]]) -> str:
    return PlannedWrite("customer", "erp", "update", "g-1", "12", changes).describe()


def test_lists_and_records_read_as_their_values() -> None:
    line = _line({"phones": ([], [{"number": "+49 30 1234", "kind": "work", "note": None}])})

    assert line == "update erp customer 12: phones (none) -> number=+49 30 1234, kind=work"


def test_nothing_text_and_numbers() -> None:
    line = _line(
        {"addresses": (None, []), "name": ("A", "B"), "credit_limit": (None, Decimal("5"))}
    )

    assert line == (
        "update erp customer 12: addresses (none) -> (none), credit_limit (none) -> 5, "
        'name "A" -> "B"'
    )


def test_long_values_are_cut() -> None:
    line = _line({"notes": ("", "x" * 100)})

    assert line.endswith("…")
    assert len(line) < 100
