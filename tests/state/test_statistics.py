"""PostgreSQL plans state lookups from statistics that keep up with a growing state."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crmerp.state import open_state
from crmerp.state._statistics import MIN_GROWTH, GrowthTracker


def _links(first: int, count: int) -> list[tuple[str, str, str, str, str | None]]:
    return [("customer", "crm", f"C-{n}", f"g-{n}", None) for n in range(first, first + count)]


def _lookup_plan(state_url: str) -> str:
    with open_state(state_url) as state, state.engine.connect() as conn:
        ids = "{" + ",".join(f"g-{n}" for n in range(0, 2000, 7)) + "}"
        conn.execute(
            text(
                "PREPARE lookup(varchar, varchar, varchar[]) AS SELECT native_id "
                "FROM crmerp_links WHERE scope = $1 AND entity = $2 AND global_id = ANY($3)"
            )
        )
        conn.execute(text("SET plan_cache_mode = force_generic_plan"))
        rows = conn.execute(text(f"EXPLAIN EXECUTE lookup('s', 'customer', '{ids}')"))
        return "\n".join(r[0] for r in rows)


@pytest.mark.postgres
def test_a_state_that_grows_in_a_run_is_analysed_so_lookups_use_the_index(
    postgres_url: str,
) -> None:
    with open_state(postgres_url, create=True) as state:
        assert isinstance(state.growth, GrowthTracker)
        for first in range(0, 3 * MIN_GROWTH, 500):  # batches, as a first sync commits them
            with state.transaction("s") as tx:
                tx.links.put(_links(first, 500))
        assert state.growth.runs >= 2  # at 1,000 links, and again once grown by half
        with state.engine.connect() as conn:
            estimate = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = 'crmerp_links'::regclass")
            ).scalar()
        assert estimate is not None
        assert estimate >= 2 * MIN_GROWTH
    # The plan a prepared lookup gets finds the ids through the index on global id,
    # not by filtering every link of the entity.
    plan = _lookup_plan(postgres_url)
    assert "global_id" in plan.split("Index Cond:")[1].split("\n")[0], plan


def test_the_growth_schedule_is_geometric() -> None:
    tracker = GrowthTracker(engine=None)  # type: ignore[arg-type]
    tracker.wrote("crmerp_links", MIN_GROWTH - 1)
    assert tracker.due() == []
    tracker.wrote("crmerp_links", 1)
    assert tracker.due() == ["crmerp_links"]
    tracker.analysed["crmerp_links"] = 100_000
    assert tracker.due() == []  # 1,000 more rows is no news for 100,000
    tracker.wrote("crmerp_links", 50_000)
    assert tracker.due() == ["crmerp_links"]


def test_sqlite_state_needs_no_tracking(sqlite_url: str) -> None:
    with open_state(sqlite_url, create=True) as state:
        assert state.growth is None


def test_a_refused_analyse_is_logged_and_not_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import create_engine

    tracker = GrowthTracker(create_engine("sqlite://"))  # has no such table to analyse
    tracker.wrote("crmerp_links", MIN_GROWTH)
    with caplog.at_level("WARNING", logger="crmerp.state"):
        tracker.after_commit()  # the sync goes on: statistics only make it faster
    assert "cannot ANALYZE" in caplog.text
    assert not tracker.enabled
    assert tracker.runs == 0
