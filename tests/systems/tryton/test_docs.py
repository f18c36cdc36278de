"""docs/systems/tryton.md stays true to the code: parameters, fields, statuses, entry point."""

from __future__ import annotations

import inspect
import re
from importlib import import_module
from pathlib import Path

import pytest

from crmerp.adapters.tryton import INVOICE_STATES, MAPPINGS, TrytonAdapter
from crmerp.models import ENTITY_MODELS, OrderStatus

PAGE = Path(__file__).resolve().parents[3] / "docs" / "systems" / "tryton.md"
TEXT = PAGE.read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = TEXT.index(f"\n### {title}")
    end = TEXT.find("\n#", start + 1)
    return TEXT[start:end]


def _first_cells(block: str) -> list[str]:
    cells = []
    for line in block.splitlines():
        if line.startswith("|") and not line.startswith("|--"):
            cells.append(line.split("|")[1].strip())
    return cells


def test_the_python_examples_compile() -> None:
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
    assert blocks
    for block in blocks:
        compile(block, str(PAGE), "exec")


def test_the_parameter_table_lists_the_constructor_parameters() -> None:
    table = TEXT[TEXT.index("| parameter") : TEXT.index("A missing URL")]
    documented = {cell.strip("`") for cell in _first_cells(table)[1:]}
    parameters = set(inspect.signature(TrytonAdapter.__init__).parameters)
    assert documented == parameters - {"self", "rpc", "clock"}


@pytest.mark.parametrize("entity", sorted(MAPPINGS))
def test_every_canonical_field_is_in_the_entity_table(entity: str) -> None:
    section = _section(entity)
    named = set(re.findall(r"`(\w+)`", "\n".join(_first_cells(section))))
    fields = set(ENTITY_MODELS[entity].model_fields) - {"id", "updated_at"}
    assert fields <= named, f"{entity}: {sorted(fields - named)} not documented"


def test_the_status_tables_match_the_mapping() -> None:
    statuses = TEXT[TEXT.index("## Statuses") : TEXT.index("## References")]
    assert {s.value for s in OrderStatus} <= set(re.findall(r"\| `(\w+)` \|\n", statuses))
    invoice = statuses[statuses.index("Invoice status") :]
    rows = re.findall(r"^\| `(\w+)`\s+\| `(\w+)`", invoice, flags=re.M)
    assert dict(rows) == INVOICE_STATES


def test_the_entry_point_line_names_the_adapter() -> None:
    (target,) = re.findall(r'^tryton = "([\w.]+:\w+)"$', TEXT, flags=re.M)
    module, _, name = target.partition(":")
    assert getattr(import_module(module), name) is TrytonAdapter
