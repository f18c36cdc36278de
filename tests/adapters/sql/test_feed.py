"""The SQL adapter's change feed: full reads without a stamp, and the lag window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crmerp.adapters import Adapter, WriteKind, WriteOp, reference_for
from crmerp.adapters.sql import SQLAdapter
from crmerp.testing.conformance import AdapterConformance
from tests.adapters.sql._legacy import ENTITIES, UNSTAMPED

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class TestSQLAdapterWithoutStamps(AdapterConformance):
    @pytest.fixture
    def adapter(self, legacy_url: str) -> Iterator[Adapter]:
        adapter = SQLAdapter(legacy_url, entities=UNSTAMPED)
        yield adapter
        adapter.close()


def test_without_a_stamp_the_table_is_read_in_full(legacy_url: str) -> None:
    adapter = SQLAdapter(legacy_url, entities=UNSTAMPED)
    try:
        caps = adapter.capabilities()
        assert (caps.change_feed, caps.reports_deletes, caps.conditional_writes) == (
            False,
            False,
            False,
        )
    finally:
        adapter.close()


def _insert_product(url: str, sku: str, stamp: datetime) -> None:
    """A row the ERP's own application writes, its stamp set when the row was made."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (sku, name, unit, active, updated_at) "
                    "VALUES (:sku, :sku, 'unit', :yes, :stamp)"
                ),
                {"sku": sku, "yes": True, "stamp": stamp.replace(tzinfo=None)},
            )
    finally:
        engine.dispose()


def _skus(adapter: SQLAdapter, cursor: str | None) -> tuple[list[str], str | None]:
    pages = list(adapter.read_changes("product", cursor))
    return [r.payload["sku"] for p in pages for r in p.records], pages[-1].cursor


@pytest.mark.parametrize(("lag", "late_row_read"), [(0, False), (60, True)])
def test_a_late_commit_inside_the_lag_window_is_still_read(
    legacy_url: str, lag: float, late_row_read: bool
) -> None:
    now = [T0]
    adapter = SQLAdapter(legacy_url, entities=ENTITIES, lag=lag, clock=lambda: now[0])
    try:
        _insert_product(legacy_url, "EARLY", T0 - timedelta(seconds=5))
        first, cursor = _skus(adapter, None)  # a run at T0
        # A transaction that stamped its row at T0 - 10 s commits only now, after the run.
        _insert_product(legacy_url, "LATE", T0 - timedelta(seconds=10))
        now[0] = T0 + timedelta(seconds=120)
        second, _ = _skus(adapter, cursor)
    finally:
        adapter.close()
    assert sorted(first + second) == (["EARLY", "LATE"] if late_row_read else ["EARLY"])


def test_records_stamped_inside_the_lag_wait_for_the_next_read(legacy_url: str) -> None:
    now = [T0]
    adapter = SQLAdapter(legacy_url, entities=ENTITIES, lag=60, clock=lambda: now[0])
    try:
        payload = {"sku": "NEW-1", "name": "New", "unit": "unit", "active": True}
        (done,) = adapter.write(
            "product", [WriteOp(WriteKind.CREATE, reference_for("g-1"), payload)]
        )
        now[0] = T0 + timedelta(seconds=30)
        assert _skus(adapter, None)[0] == []
        now[0] = T0 + timedelta(seconds=61)
        assert _skus(adapter, None)[0] == ["NEW-1"]
    finally:
        adapter.close()
    assert done.native_id
