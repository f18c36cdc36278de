"""The SQL adapter keeps every promise of the adapter contract, on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmerp.adapters import Adapter
from crmerp.adapters.sql import SQLAdapter
from crmerp.testing.conformance import AdapterConformance
from tests.adapters.sql._legacy import ENTITIES


class TestSQLAdapter(AdapterConformance):
    @pytest.fixture
    def adapter(self, legacy_url: str) -> Iterator[Adapter]:
        adapter = SQLAdapter(legacy_url, entities=ENTITIES)
        yield adapter
        adapter.close()
