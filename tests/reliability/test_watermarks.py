"""Watermark edges (promise 1): equal stamps at a page boundary, records committed late
with older stamps, stamps with non-UTC offsets, a daylight-saving change.

Each case runs against two ways of reading a CRM: the fake's own change sequence,
and a stamp watermark, as many real systems offer ("modified since"), ordered by
(stamp, id) with a look-back window for late commits. After the runs, a full
reconcile finds nothing left to repair: the runs' result equals a full compare.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmerp.adapters import NativeRecord, Page, parse_datetime
from crmerp.sync import Direction, FieldRule, Policy, Rules, SyncEngine
from crmerp.testing import FakeClock, FakeCRM, FakeCRMAdapter, FaultPlan
from crmerp.testing._system import _Row
from tests.reliability._helpers import (
    World,
    assert_agree,
    assert_no_duplicates,
    make_world,
    tally_run,
    unlinked,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
FALL_BACK = datetime(2024, 10, 27, 1, tzinfo=UTC)  # 03:00 CEST becomes 02:00 CET
LATEST_TERMS = Rules.default().with_field(
    "customer", "payment_terms", FieldRule(Direction.BOTH, Policy.LATEST)
)


class LocalTimeCRM(FakeCRM):
    """A CRM that shows its stamps in local time with the offset, e.g. ``+0530``."""

    def __init__(self, zone: tzinfo, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.zone = zone

    def _present(self, table: str, row: _Row) -> dict[str, Any]:
        shown = super()._present(table, row)
        for key, when in (
            ("CreatedDate", row.created),
            ("LastModifiedDate", row.stamp),
            ("SystemModstamp", row.stamp),
        ):
            local = when.astimezone(self.zone)
            millis = f"{local.microsecond // 1000:03d}"
            shown[key] = local.strftime("%Y-%m-%dT%H:%M:%S.") + millis + local.strftime("%z")
        return shown


class StampCursorCRMAdapter(FakeCRMAdapter):
    """The CRM read by a stamp watermark: records ordered by (stamp, id), paged by
    that key, and each new read starting ``lookback`` before the last stamp seen so
    that changes committed late with older stamps are still found."""

    def __init__(self, system: FakeCRM, *, lookback: timedelta, page_size: int) -> None:
        super().__init__(system, page_size=page_size)
        self.lookback = lookback

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        table = self._table(entity)
        self._begin("read")
        after = self._decode(cursor)
        rows, _more = self.fake.changes(table, after=0, limit=10**9)
        ordered = sorted((self._key(row.payload, row.id), row) for row in rows)
        chosen = [row for key, row in ordered if after is None or key > after][: limit + 1]
        more = len(chosen) > limit
        chosen = chosen[:limit]
        self._crash_point("read.page")
        if self.faults is not None:
            self.faults.page_read(entity)
        if not chosen:
            return Page([], cursor, False)
        stamp, native = self._key(chosen[-1].payload, chosen[-1].id)
        next_cursor = f"{'page' if more else 'done'}|{stamp.isoformat()}|{native}"
        return Page([self._native(row) for row in chosen], next_cursor, more)

    def _key(self, payload: dict[str, Any], native: str) -> tuple[datetime, str]:
        stamp = parse_datetime(payload[self.fake.STAMP_FIELD])
        assert stamp is not None
        return stamp, native

    def _decode(self, cursor: str | None) -> tuple[datetime, str] | None:
        if cursor is None:
            return None
        kind, stamp, native = cursor.split("|")
        when = datetime.fromisoformat(stamp)
        if kind == "done":  # a new read: look back for late commits
            return when - self.lookback, ""
        return when, native


class LocalStampCRMAdapter(FakeCRMAdapter):
    """An adapter that hands the engine aware stamps in local time (``+02:00``), as
    the adapter contract allows ("timezone-aware"), rather than in UTC."""

    zone: tzinfo = BERLIN

    def _native(self, row: Any) -> NativeRecord:
        record = super()._native(row)
        if record.stamp is None:
            return record
        return attrs.evolve(record, stamp=record.stamp.astimezone(self.zone))


Reader = Callable[[FakeCRM, int], FakeCRMAdapter]
READERS: dict[str, Reader] = {
    "change sequence": lambda crm, page: FakeCRMAdapter(crm, page_size=page),
    "stamp watermark": lambda crm, page: StampCursorCRMAdapter(
        crm, lookback=timedelta(hours=2), page_size=page
    ),
}


def _world(
    reader: str,
    *,
    start: datetime = datetime(2024, 6, 1, 12, tzinfo=UTC),
    tick: timedelta = timedelta(seconds=1),
    zone: tzinfo = UTC,
    page_size: int = 2,
    rules: Rules | None = None,
) -> World:
    crm = LocalTimeCRM(zone, FakeClock(start, tick=tick))
    world = make_world(rules=rules, crm=crm, erp_clock=FakeClock(start, tick=tick))
    world.crm_adapter = READERS[reader](crm, page_size)  # type: ignore[assignment]
    return world


def _accounts(world: World, count: int, prefix: str = "Customer") -> list[str]:
    return [
        world.crm.create("Account", Name=f"{prefix} {n}", Email__c=f"{prefix.lower()}{n}@ex.com")
        for n in range(count)
    ]


def assert_reconcile_finds_nothing(world: World) -> None:
    """The runs' result equals a full compare of both systems: nothing to repair."""
    assert_agree(world, "customer", "product")
    assert_no_duplicates(world, ["customer", "product"])
    assert unlinked(world, "customer") == []
    report = tally_run(world.engine().reconcile())
    assert report.writes == 0, report.summary()
    assert report.conflicts_parked == 0
    assert report.quarantined == 0


def _names(world: World) -> tuple[list[str], list[str]]:
    crm = sorted(row["Name"] for row in world.crm.find("Account"))
    erp = sorted(row["name"] for row in world.erp.find("party.party"))
    return crm, erp


@pytest.mark.parametrize("reader", READERS)
def test_equal_stamps_across_page_boundaries_are_all_read(reader: str) -> None:
    world = _world(reader, tick=timedelta(0))  # every change shares one stamp
    accounts = _accounts(world, 9)
    engine = world.engine()
    tally_run(engine.run())
    assert len(world.erp.find("party.party")) == 9

    def rename_what_was_read(entity: str, page: int) -> None:
        if entity == "customer" and page <= 3:
            world.crm.edit("Account", accounts[page - 1], Name=f"Customer {page - 1} renamed")

    for account in accounts[3:]:
        world.crm.edit("Account", account, Phone="+49 30 1234567")
    world.faults(FaultPlan(while_paging=rename_what_was_read), None)
    tally_run(engine.run())
    world.faults(None, None)
    tally_run(engine.run())
    crm, erp = _names(world)
    assert crm == erp
    assert sum("renamed" in name for name in erp) == 3
    assert_reconcile_finds_nothing(world)
    world.close()


@pytest.mark.parametrize("reader", READERS)
def test_records_committed_late_with_older_stamps_are_read(reader: str) -> None:
    world = _world(reader)
    accounts = _accounts(world, 6)
    engine = world.engine()
    tally_run(engine.run())

    def commit_late(entity: str, page: int) -> None:
        # A transaction that took its stamps half an hour ago commits only now,
        # after the read went past them.
        if entity != "customer" or page != 2:
            return
        world.crm.clock.step_back(timedelta(minutes=30))
        world.crm.create("Account", Name="Late Ltd", Email__c="late@ex.com")
        world.crm.edit("Account", accounts[0], Name="Customer 0 (late edit)")
        world.crm.clock.advance(timedelta(minutes=30))

    for account in accounts:
        world.crm.edit("Account", account, Phone="+49 30 1234567")
    world.faults(FaultPlan(while_paging=commit_late), None)
    tally_run(engine.run())
    world.faults(None, None)
    tally_run(engine.run())  # "in that run or the next one"
    crm, erp = _names(world)
    assert crm == erp
    assert {"Late Ltd", "Customer 0 (late edit)"} <= set(erp)
    assert_reconcile_finds_nothing(world)
    world.close()


def test_a_commit_later_than_the_look_back_is_found_by_a_full_reconcile() -> None:
    """What a stamp watermark cannot see, a full reconcile repairs."""
    world = _world("stamp watermark")
    _accounts(world, 3)
    engine = world.engine()
    tally_run(engine.run())
    world.crm.clock.step_back(timedelta(hours=5))
    world.crm.create("Account", Name="Very Late Ltd", Email__c="very-late@ex.com")
    world.crm.clock.advance(timedelta(hours=5))
    world.crm.create("Account", Name="On Time Ltd", Email__c="on-time@ex.com")
    tally_run(engine.run())
    assert "Very Late Ltd" not in _names(world)[1]  # out of the watermark's reach
    report = tally_run(engine.reconcile())
    assert report.entity("customer").erp.created == 1
    crm, erp = _names(world)
    assert crm == erp
    assert_reconcile_finds_nothing(world)
    world.close()


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("zone", [KOLKATA, BERLIN, ZoneInfo("America/Los_Angeles")], ids=str)
def test_stamps_with_non_utc_offsets_are_compared_as_instants(reader: str, zone: tzinfo) -> None:
    start = datetime(2024, 6, 1, 12, tzinfo=UTC)
    world = _world(reader, zone=zone, start=start, rules=LATEST_TERMS)
    (account,) = _accounts(world, 1)
    engine = world.engine()
    tally_run(engine.run())
    party = world.erp.find("party.party")[0]["id"]
    world.crm.clock.set(start + timedelta(minutes=30))
    world.erp.clock.set(start + timedelta(minutes=40))
    world.crm.edit("Account", account, Payment_Terms__c="net 10")  # 12:30Z, local 18:00 in India
    world.erp.edit("party.party", party, payment_term="net 60")  # 12:40Z, naive UTC in the ERP
    shown = world.crm.read("Account", account)
    assert shown is not None
    assert not shown["LastModifiedDate"].endswith("+0000") or zone is UTC
    tally_run(engine.run())
    assert world.crm.read("Account", account)["Payment_Terms__c"] == "net 60"  # type: ignore[index]
    assert world.erp.read("party.party", party)["payment_term"] == "net 60"  # type: ignore[index]
    assert_reconcile_finds_nothing(world)
    world.close()


@pytest.mark.parametrize("reader", READERS)
def test_a_daylight_saving_change_loses_nothing_and_orders_changes_by_instant(
    reader: str,
) -> None:
    """Berlin falls back at 01:00Z: local times 02:00-03:00 happen twice."""
    start = FALL_BACK - timedelta(minutes=40)  # 02:20 CEST
    world = _world(reader, zone=BERLIN, start=start, tick=timedelta(minutes=7), rules=LATEST_TERMS)
    accounts = _accounts(world, 3)
    engine = world.engine()
    tally_run(engine.run())
    party = {
        a: world.erp.find("party.party", name=f"Customer {n}")[0]["id"]
        for n, a in enumerate(accounts)
    }
    # After the switch the CRM's local clock reads earlier than before it.
    world.crm.clock.set(FALL_BACK + timedelta(minutes=5))  # 02:05 CET
    world.crm.edit("Account", accounts[0], Name="Customer 0 after the switch")
    world.crm.create("Account", Name="New after the switch", Email__c="new@ex.com")
    shown = world.crm.read("Account", accounts[0])
    assert shown is not None
    assert shown["LastModifiedDate"].startswith("2024-10-27T02:05")
    assert shown["LastModifiedDate"].endswith("+0100")
    # Latest change wins by instant: ERP 00:50Z beats the CRM's 02:45 CEST (00:45Z)...
    world.crm.clock.set(FALL_BACK - timedelta(minutes=15))
    world.crm.edit("Account", accounts[1], Payment_Terms__c="net 10")
    world.erp.clock.set(FALL_BACK - timedelta(minutes=10))
    world.erp.edit("party.party", party[accounts[1]], payment_term="net 60")
    # ...and the CRM's 02:10 CET (01:10Z) beats the ERP's 01:05Z.
    world.erp.clock.set(FALL_BACK + timedelta(minutes=5))
    world.erp.edit("party.party", party[accounts[2]], payment_term="net 60")
    world.crm.clock.set(FALL_BACK + timedelta(minutes=10))
    world.crm.edit("Account", accounts[2], Payment_Terms__c="net 10")
    tally_run(engine.run())
    tally_run(engine.run())
    crm, erp = _names(world)
    assert crm == erp
    assert {"Customer 0 after the switch", "New after the switch"} <= set(erp)
    terms = [world.erp.read("party.party", party[a])["payment_term"] for a in accounts[1:]]  # type: ignore[index]
    assert terms == ["net 60", "net 10"]
    assert_reconcile_finds_nothing(world)
    world.close()


def test_aware_local_stamps_from_an_adapter_decide_by_their_instant(state_url: str) -> None:
    start = datetime(2024, 6, 1, 12, tzinfo=UTC)
    world = make_world(
        state_url,
        rules=LATEST_TERMS,
        crm_clock=FakeClock(start),
        erp_clock=FakeClock(start),
    )
    world.crm_adapter = LocalStampCRMAdapter(world.crm)
    account = world.crm.create("Account", Name="Acme", Email__c="acme@ex.com")
    engine: SyncEngine = world.engine()
    tally_run(engine.run())
    party = world.erp.find("party.party")[0]["id"]
    world.crm.clock.set(start + timedelta(minutes=30))
    world.erp.clock.set(start + timedelta(minutes=60))
    world.crm.edit("Account", account, Payment_Terms__c="net 10")  # 12:30Z (14:30+02:00)
    world.erp.edit("party.party", party, payment_term="net 60")  # 13:00Z: the latest
    tally_run(engine.run())
    try:
        assert world.crm.read("Account", account)["Payment_Terms__c"] == "net 60"  # type: ignore[index]
        assert world.erp.read("party.party", party)["payment_term"] == "net 60"  # type: ignore[index]
    finally:
        world.close()
