"""The promises every adapter keeps, each as a check that names the one it breaks.

A failed check raises ``AssertionError("<promise> promise broken: ...")``. The
checks only use the adapter contract, so they run against any adapter; calls go
through :func:`with_retries` and :func:`settle_writes`, so an adapter with
injected transient faults passes too.
"""

from __future__ import annotations

from collections.abc import Callable

from crmerp._errors import DataError
from crmerp.adapters import (
    ENTITIES,
    Adapter,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteStatus,
)
from crmerp.testing._bench import (
    MISSING_IDS,
    BadPayloads,
    Bench,
    Written,
    broken,
    ids_in,
    live_in,
    require,
)
from crmerp.testing._retry import with_retries

__all__ = ["CHECKS"]


# --- the checks -------------------------------------------------------------------


def check_capabilities(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """Capabilities name known entities, each with a mapping, and a sane page size."""
    caps = bench.adapter.capabilities()
    unknown = (caps.readable | caps.writable) - set(ENTITIES)
    require(not unknown, "capabilities", f"unknown entities {sorted(unknown)}")
    require(caps.readable, "capabilities", "the adapter reads no entity at all")
    for entity in sorted(caps.readable | caps.writable):
        require(
            entity in bench.adapter.mappings,
            "capabilities",
            f"{entity} is declared but has no mapping",
        )
    require(bench.adapter.system, "capabilities", "the adapter has no system name")
    instance = bench.adapter.instance()
    require(
        isinstance(instance, str) and instance and instance == bench.adapter.instance(),
        "capabilities",
        f"instance() must name the instance, the same on every call (got {instance!r})",
    )


def check_round_trip(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """Every entity written reads back, by fetch and by change feed, as it was sent."""
    for entity in bench.entities():
        written = bench.create(entity, 2)
        fetched = bench.fetch(entity, [w.native_id for w in written])
        pages, _ = bench.read(entity, None)
        feed = live_in(pages)
        for item in written:
            for how, records in (("fetch", fetched), ("the change feed", feed)):
                record = records.get(item.native_id)
                require(
                    record is not None,
                    "round-trip",
                    f"{entity} {item.native_id} was written but {how} does not return it",
                )
                assert record is not None
                _same_as_sent(bench.adapter, item, record, how)


def _same_as_sent(adapter: Adapter, item: Written, record: NativeRecord, how: str) -> None:
    where = f"{item.entity} {item.native_id} (read by {how})"
    require(
        record.reference == item.reference,
        "find-by-reference",
        f"{where} carries reference {record.reference!r}, not {item.reference!r}",
    )
    require(
        record.stamp is None or record.stamp.tzinfo is not None,
        "round-trip",
        f"{where} has a naive stamp {record.stamp!r}",
    )
    try:
        again = adapter.to_native(item.entity, adapter.to_canonical(item.entity, record))
    except DataError as exc:
        raise broken(
            "round-trip", f"{where} was written valid but reads back invalid: {exc}"
        ) from None
    for key in sorted(set(item.payload) | set(again)):
        require(
            item.payload.get(key) == again.get(key),
            "round-trip",
            f"{where} field {key!r} was written as {item.payload.get(key)!r} "
            f"and reads back as {again.get(key)!r}",
        )
    mapping = adapter.mapping(item.entity)
    if mapping.round_trips:
        sent = item.record.model_dump(mode="json", include=set(mapping.carried))
        back = adapter.to_canonical(item.entity, record).model_dump(
            mode="json", include=set(mapping.carried)
        )
        for key in sorted(mapping.carried - {"id", "updated_at"}):
            require(
                sent.get(key) == back.get(key),
                "round-trip",
                f"{where}: the {item.entity} mapping declares round_trips=True, but "
                f"{key!r} was sent as {sent.get(key)!r} and reads back as {back.get(key)!r}",
            )


def check_native_fields_are_mapped(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """Every native key of a record read is mapped or listed in ``ignore``."""
    for entity in bench.entities():
        bench.create(entity, 1)
        pages, _ = bench.read(entity, None)
        mapping = bench.adapter.mapping(entity)
        for record in live_in(pages).values():
            unknown = mapping.unknown_keys(record.payload)
            require(
                not unknown,
                "mapping",
                f"{entity} {record.id} has native fields that no mapping reads or "
                f"ignores: {sorted(unknown)}",
            )


def check_pages_miss_nothing_and_repeat_nothing(
    bench: Bench, bad: BadPayloads, bad_native: BadPayloads
) -> None:
    """Pages cover every change once; the next run returns only what changed since."""
    for entity in bench.entities():
        bench.ensure_parents(entity)
        start = bench.drain(entity)
        written = bench.create(entity, 7)
        pages, cursor = bench.read(entity, start)
        seen = ids_in(pages)
        for item in written:
            require(
                item.native_id in seen,
                "cursor",
                f"{entity} record {item.native_id} was missed across pages",
            )
        repeated = sorted({i for i in seen if seen.count(i) > 1})
        require(not repeated, "cursor", f"{entity} records {repeated} came twice in one read")
        if not bench.adapter.capabilities().change_feed:
            continue
        again, _ = bench.read(entity, cursor)
        require(
            not ids_in(again),
            "cursor",
            f"a second {entity} run with nothing changed returned {ids_in(again)}",
        )
        bench.update(written[0])
        fresh = bench.create(entity, 2)
        changed = {written[0].native_id, *(w.native_id for w in fresh)}
        after, _ = bench.read(entity, cursor)
        seen = ids_in(after)
        for native_id in sorted(changed - set(seen)):
            raise broken(
                "cursor",
                f"{entity} record {native_id} changed after the last "
                "cursor but the next run missed it",
            )
        repeated = sorted(set(seen) & {w.native_id for w in written[1:]})
        require(
            not repeated,
            "cursor",
            f"the next {entity} run repeated records {repeated} that did not change",
        )


def check_change_while_paging_is_not_lost(
    bench: Bench, bad: BadPayloads, bad_native: BadPayloads
) -> None:
    """A record changed or added while a read is paging is returned after the change."""
    for entity in bench.entities():
        _change_while_paging(bench, entity)


def _change_while_paging(bench: Bench, entity: str) -> None:
    bench.ensure_parents(entity)
    start = bench.drain(entity)
    written = bench.create(entity, 6)
    changed: list[str] = []
    seen_after: set[str] = set()

    def meddle(number: int, page: Page) -> None:
        if changed:
            seen_after.update(r.id for r in page.records)
        elif number == 1 and page.records and page.more:
            ids = {r.id for r in page.records}
            first = next((w for w in written if w.native_id in ids), None)
            if first is not None:
                bench.update(first)
                changed.append(first.native_id)
            changed.extend(w.native_id for w in bench.create(entity, 1))

    pages, cursor = bench.read(entity, start, meddle)
    seen = set(ids_in(pages))
    for item in written:
        require(
            item.native_id in seen,
            "cursor",
            f"{entity} record {item.native_id} was missed while paging",
        )
    if not changed:
        return
    later, _ = bench.read(entity, bench.next_cursor(cursor))
    seen_after.update(ids_in(later))
    for native_id in changed:
        require(
            native_id in seen_after,
            "cursor",
            f"{entity} record {native_id} changed while paging and was never "
            "returned after the change",
        )


def check_deletes(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """A delete answered done is gone, reported where claimed, and may be repeated."""
    reports = bench.adapter.capabilities().reports_deletes
    for entity in bench.entities():
        victim, survivor = bench.create(entity, 2)
        cursor = bench.drain(entity)
        op = WriteOp(WriteKind.DELETE, victim.reference, None, victim.native_id)
        bench.refs[entity].remove(victim.native_id)
        (result,) = bench.write(entity, [op])
        present = bench.fetch(entity, [victim.native_id, survivor.native_id])
        require(
            survivor.native_id in present,
            "deletes",
            f"deleting {entity} {victim.native_id} also removed {survivor.native_id}",
        )
        if result.status is not WriteStatus.DONE:
            require(
                victim.native_id in present,
                "write-result",
                f"deleting {entity} {victim.native_id} answered {result.status} "
                "but the record is gone",
            )
            continue
        require(
            victim.native_id not in present,
            "deletes",
            f"deleting {entity} {victim.native_id} answered done but fetch still returns it",
        )
        pages, _ = bench.read(entity, bench.next_cursor(cursor))
        records = [r for page in pages for r in page.records if r.id == victim.native_id]
        require(
            not [r for r in records if not r.deleted],
            "deletes",
            f"deleted {entity} {victim.native_id} is still reported alive",
        )
        if reports:
            require(
                records,
                "deletes",
                f"the adapter claims reports_deletes but the delete of {entity} "
                f"{victim.native_id} was not reported",
            )
        (again,) = bench.write(entity, [op])
        require(
            again.status is WriteStatus.DONE,
            "idempotent-rewrite",
            f"deleting {entity} {victim.native_id} a second time answered {again.status} "
            f"{again.reason!r}; a repeated delete must be done",
        )


def check_write_results(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """One answer per op, in order; a failing op does not sink the rest of the batch."""
    for entity in bench.entities():
        (_, first), (_, second) = bench.sample(entity), bench.sample(entity)
        refs = [bench.reference() for _ in range(2)]
        ops = [
            WriteOp(WriteKind.CREATE, refs[0], first),
            WriteOp(WriteKind.UPDATE, refs[1], second, MISSING_IDS[0]),
            WriteOp(WriteKind.CREATE, refs[1], second),
            WriteOp(WriteKind.UPDATE, refs[0], first, MISSING_IDS[1]),
            WriteOp(WriteKind.DELETE, refs[0], None, MISSING_IDS[1]),
        ]
        results = bench.write(entity, ops)
        for index in (0, 2):
            require(
                results[index].status is WriteStatus.DONE,
                "write-result",
                f"valid {entity} create (op {index}) answered {results[index].status} "
                f"{results[index].reason!r} next to failing ops",
            )
        for index in (1, 3):
            require(
                results[index].status is WriteStatus.FAILED and results[index].reason,
                "write-result",
                f"updating {entity} id {ops[index].native_id!r}, which does not exist, "
                f"answered {results[index].status} {results[index].reason!r}; "
                "it must fail for good with a reason",
            )
        require(
            results[4].status is not WriteStatus.RETRY,
            "write-result",
            f"deleting {entity} id {MISSING_IDS[1]!r}, which does not exist, asked to retry",
        )
        ids = [results[0].native_id, results[2].native_id]
        require(ids[0] != ids[1], "write-result", f"two {entity} creates answered one id {ids}")
        fetched = bench.fetch(entity, [i for i in ids if i])
        for native_id, reference in zip(ids, (refs[0], refs[1]), strict=True):
            record = fetched.get(native_id or "")
            require(
                record is not None and record.reference == reference,
                "write-result",
                f"the answer for the {entity} create with reference {reference} names "
                f"{native_id}, which is not that record: answers are out of order",
            )


def check_find_by_reference(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """Records are found by the reference stamped on create, and only those."""
    for entity in bench.entities():
        written = bench.create(entity, 2)
        unknown = bench.reference()
        found = with_retries(
            bench.adapter.find_by_reference, entity, [w.reference for w in written] + [unknown]
        )
        require(
            unknown not in found,
            "find-by-reference",
            f"{entity} reference {unknown} was never written but was found",
        )
        for item in written:
            record = found.get(item.reference)
            require(
                record is not None and record.id == item.native_id,
                "find-by-reference",
                f"{entity} {item.native_id} was not found by its reference {item.reference}",
            )
            assert record is not None
            require(
                record.reference == item.reference,
                "find-by-reference",
                f"{entity} {item.native_id} found by reference says {record.reference!r}",
            )


def check_conditional_writes(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """A record's version changes when it is written; with ``conditional_writes``,
    an update or delete expecting an older version is answered stale and changes
    nothing."""
    conditional = bench.adapter.capabilities().conditional_writes
    for entity in bench.entities():
        bench.ensure_parents(entity)
        (item,) = bench.create(entity, 1)
        before = bench.fetch(entity, [item.native_id]).get(item.native_id)
        if before is None or before.version is None:
            continue  # no version reported: written unconditionally
        bench.update(item)
        after = bench.fetch(entity, [item.native_id])[item.native_id]
        where = f"{entity} {item.native_id}"
        require(
            after.version != before.version,
            "conditional-write",
            f"{where} was written but its version stayed {before.version!r}",
        )
        if not conditional:
            continue
        _, payload = bench.sample(entity)
        for op in (
            WriteOp(WriteKind.UPDATE, item.reference, payload, item.native_id, before.version),
            WriteOp(WriteKind.DELETE, item.reference, None, item.native_id, before.version),
        ):
            (result,) = bench.write(entity, [op])
            require(
                result.status is WriteStatus.STALE,
                "conditional-write",
                f"{op.kind} of {where} expecting its old version {before.version!r} "
                f"(it is at {after.version!r}) answered {result.status}, not stale",
            )
            now = bench.fetch(entity, [item.native_id]).get(item.native_id)
            require(
                now is not None and now.version == after.version,
                "conditional-write",
                f"the {op.kind} of {where} answered stale but changed the record",
            )


def check_rewrite_is_idempotent(bench: Bench, bad: BadPayloads, bad_native: BadPayloads) -> None:
    """Repeating a create (same reference) or an update changes nothing more."""
    upserts = bench.adapter.capabilities().upsert_by_reference
    for entity in bench.entities():
        (item,) = bench.create(entity, 1)
        if upserts:
            op = WriteOp(WriteKind.CREATE, item.reference, item.payload)
            (again,) = bench.write(entity, [op])
            require(
                again.status is WriteStatus.DONE and again.native_id == item.native_id,
                "idempotent-rewrite",
                f"creating {entity} reference {item.reference} again answered "
                f"{again.status} {again.native_id!r}, not the first record "
                f"{item.native_id}: a second record was made",
            )
            pages, _ = bench.read(entity, None)
            twins = {r.id for r in live_in(pages).values() if r.reference == item.reference}
            require(
                twins == {item.native_id},
                "idempotent-rewrite",
                f"{entity} reference {item.reference} is carried by {sorted(twins)}",
            )
        payload = bench.update(item)
        first = bench.fetch(entity, [item.native_id])[item.native_id]
        op = WriteOp(WriteKind.UPDATE, item.reference, payload, item.native_id)
        (again,) = bench.write(entity, [op])
        require(
            again.status is WriteStatus.DONE,
            "idempotent-rewrite",
            f"repeating an update of {entity} {item.native_id} answered {again.status}",
        )
        second = bench.fetch(entity, [item.native_id])[item.native_id]
        adapter = bench.adapter
        require(
            adapter.to_native(entity, adapter.to_canonical(entity, first))
            == adapter.to_native(entity, adapter.to_canonical(entity, second)),
            "idempotent-rewrite",
            f"repeating the same update of {entity} {item.native_id} changed the record",
        )


def check_bad_payloads_fail_per_record(
    bench: Bench, bad: BadPayloads, bad_native: BadPayloads
) -> None:
    """A bad payload fails for good with a reason, leaves nothing, sinks nothing."""
    for entity in bench.entities():
        for payload in bad.get(entity, [{}]):
            _, good = bench.sample(entity)
            refs = [bench.reference() for _ in range(2)]
            ops = [
                WriteOp(WriteKind.CREATE, refs[0], payload),
                WriteOp(WriteKind.CREATE, refs[1], good),
            ]
            results = bench.write(entity, ops)
            require(
                results[0].status is not WriteStatus.DONE,
                "write-result",
                f"{entity} create with bad payload {payload!r} was answered done",
            )
            require(
                results[0].status is WriteStatus.FAILED and results[0].reason,
                "write-result",
                f"{entity} create with bad payload {payload!r} answered "
                f"{results[0].status} {results[0].reason!r}; it must fail with a reason",
            )
            require(
                results[1].status is WriteStatus.DONE,
                "write-result",
                f"a bad {entity} payload made the valid create next to it answer "
                f"{results[1].status} {results[1].reason!r}",
            )
            left = with_retries(bench.adapter.find_by_reference, entity, [refs[0]])
            require(
                not left,
                "write-result",
                f"the refused {entity} create with payload {payload!r} left a record",
            )


def check_bad_native_records_raise_data_errors(
    bench: Bench, bad: BadPayloads, bad_native: BadPayloads
) -> None:
    """A bad native record gives a DataError naming system, entity, native id, field."""
    caps = bench.adapter.capabilities()
    for entity in [e for e in ENTITIES if e in caps.readable]:
        for payload in bad_native.get(entity, [{}]):
            record = NativeRecord(id="conformance-bad-1", payload=payload)
            try:
                bench.adapter.to_canonical(entity, record)
            except DataError as exc:
                named = (exc.system, exc.entity, exc.native_id)
                require(
                    named == (bench.adapter.system, entity, record.id),
                    "data-error",
                    f"bad {entity} {payload!r} names (system, entity, native_id) "
                    f"{named}, not {(bench.adapter.system, entity, record.id)}",
                )
                require(
                    exc.field,
                    "data-error",
                    f"bad {entity} {payload!r} gave a DataError naming no field: {exc}",
                )
            except Exception as exc:
                raise broken(
                    "data-error",
                    f"bad {entity} {payload!r} raised "
                    f"{type(exc).__name__} instead of a DataError: {exc}",
                ) from None
            else:
                raise broken("data-error", f"bad {entity} {payload!r} was accepted")


Check = Callable[[Bench, BadPayloads, BadPayloads], None]

CHECKS: dict[str, Check] = {
    "capabilities": check_capabilities,
    "round_trip": check_round_trip,
    "native_fields_are_mapped": check_native_fields_are_mapped,
    "pages_miss_nothing_and_repeat_nothing": check_pages_miss_nothing_and_repeat_nothing,
    "change_while_paging_is_not_lost": check_change_while_paging_is_not_lost,
    "deletes": check_deletes,
    "write_results": check_write_results,
    "find_by_reference": check_find_by_reference,
    "rewrite_is_idempotent": check_rewrite_is_idempotent,
    "conditional_writes": check_conditional_writes,
    "bad_payloads_fail_per_record": check_bad_payloads_fail_per_record,
    "bad_native_records_raise_data_errors": check_bad_native_records_raise_data_errors,
}
"""Every check by name; ``AdapterConformance`` has one ``test_<name>`` per entry."""
