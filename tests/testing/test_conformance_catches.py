"""Broken adapters fail the conformance suite with a message naming the broken promise."""

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from crmerp.adapters import Capabilities, NativeRecord, Page, WriteOp, WriteResult, WriteStatus
from crmerp.testing.conformance import CHECKS, AdapterConformance, check_adapter, sample_record
from tests.testing.toy_adapter import ToyAdapter


class DropsOneRecordPerPage(ToyAdapter):
    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        page = super().read_page(entity, cursor, limit=limit)
        return Page(page.records[1:], page.cursor, page.more)


class ReportsSuccessForFailedWrites(ToyAdapter):
    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = super().write(entity, ops)
        return [
            WriteResult.done(op.native_id or "1") if r.status is WriteStatus.FAILED else r
            for op, r in zip(ops, results, strict=True)
        ]


class RepeatsTheLastRecordOfEachPage(ToyAdapter):
    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        page = super().read_page(entity, cursor, limit=limit)
        if len(page.records) < 2:
            return page
        return Page(page.records, str(int(page.cursor or 0) - 1), page.more)


class NamesANewInstanceEachTime(ToyAdapter):
    calls = 0

    def instance(self) -> str:
        self.calls += 1
        return f"toy-{self.calls}"


class IgnoresTheReferenceOnCreate(ToyAdapter):
    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        found = super().find_by_reference(entity, references)
        return {} if len(references) == 1 else found


class HidesItsTombstones(ToyAdapter):
    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        page = super().read_page(entity, cursor, limit=limit)
        return Page([r for r in page.records if not r.deleted], page.cursor, page.more)


class SwapsTheIdsOfItsAnswers(ToyAdapter):
    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = super().write(entity, ops)
        done = [i for i, r in enumerate(results) if r.status is WriteStatus.DONE]
        swapped = [results[i].native_id or "" for i in done][::-1]
        for index, native_id in zip(done, swapped, strict=True):
            results[index] = WriteResult.done(native_id)
        return results


class CutsLongNames(ToyAdapter):
    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = super().write(entity, ops)
        for row in self.book.rows.values():
            row["full_name"] = row.get("full_name", "")[:12]
        return results


class LeaksAnUnmappedField(ToyAdapter):
    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        page = super().read_page(entity, cursor, limit=limit)
        records = [
            NativeRecord(r.id, {**r.payload, "score": 7}, reference=r.reference)
            for r in page.records
        ]
        return Page(records, page.cursor, page.more)


class ClaimsConditionalWritesButIgnoresTheVersion(ToyAdapter):
    def capabilities(self) -> Capabilities:
        return attrs.evolve(super().capabilities(), conditional_writes=True)

    def _record(self, row: dict[str, Any]) -> NativeRecord:
        return attrs.evolve(super()._record(row), version=str(row["change"]))


@pytest.mark.parametrize(
    ("adapter_class", "check", "promise"),
    [
        (
            DropsOneRecordPerPage,
            "pages_miss_nothing_and_repeat_nothing",
            r"cursor promise broken: customer record \S+ was missed across pages",
        ),
        (
            ReportsSuccessForFailedWrites,
            "bad_payloads_fail_per_record",
            r"write-result promise broken: customer create with bad payload \{\} was answered done",
        ),
        (
            ReportsSuccessForFailedWrites,
            "write_results",
            r"write-result promise broken: updating customer id '999999999', which does not exist",
        ),
        (
            RepeatsTheLastRecordOfEachPage,
            "pages_miss_nothing_and_repeat_nothing",
            r"cursor promise broken: customer records \[.*\] came twice in one read",
        ),
        (
            IgnoresTheReferenceOnCreate,
            "rewrite_is_idempotent",
            r"idempotent-rewrite promise broken: creating customer reference \S+ again",
        ),
        (
            HidesItsTombstones,
            "deletes",
            r"deletes promise broken: the adapter claims reports_deletes but the delete",
        ),
        (
            SwapsTheIdsOfItsAnswers,
            "write_results",
            r"write-result promise broken: .* answers are out of order",
        ),
        (
            CutsLongNames,
            "round_trip",
            r"round-trip promise broken: customer 1 \(read by fetch\) field 'full_name' was "
            r"written as 'Conformance Customer 1'",
        ),
        (
            ClaimsConditionalWritesButIgnoresTheVersion,
            "conditional_writes",
            r"conditional-write promise broken: update of customer 1 expecting its old "
            r"version '1' \(it is at '2'\) answered done, not stale",
        ),
        (
            NamesANewInstanceEachTime,
            "capabilities",
            r"capabilities promise broken: instance\(\) must name the instance, the same",
        ),
        (
            LeaksAnUnmappedField,
            "native_fields_are_mapped",
            r"mapping promise broken: customer 1 has native fields .* \['score'\]",
        ),
    ],
)
def test_a_broken_adapter_fails_the_check_that_names_its_promise(
    adapter_class: type[ToyAdapter], check: str, promise: str
) -> None:
    suite = AdapterConformance()
    test = getattr(suite, f"test_{check}")
    arguments = {"adapter": adapter_class(), "make_canonical": sample_record}
    if check == "bad_payloads_fail_per_record":
        arguments["bad_payloads"] = {}
    with pytest.raises(AssertionError, match=promise):
        test(**arguments)


def test_check_adapter_reports_every_broken_promise_by_check() -> None:
    report = check_adapter(DropsOneRecordPerPage)
    assert not report.ok
    assert "pages_miss_nothing_and_repeat_nothing" in report.failures
    assert "capabilities" in report.passed
    assert "cursor promise broken" in str(report)


def test_the_sound_toy_adapter_passes_every_check() -> None:
    report = check_adapter(ToyAdapter)
    assert report.ok, report
    assert report.failures == {}


def test_a_to_canonical_that_crashes_on_bad_data_is_reported() -> None:
    from crmerp.adapters import EntityMapping, field
    from crmerp.models import Customer

    class StripsNames(ToyAdapter):
        mappings = {
            "customer": EntityMapping(
                Customer,
                [field("name", "full_name", to_canonical=str.strip)],
                omits=set(Customer.model_fields) - {"id", "updated_at", "name"},
                ignore={"id", "ref", "change", "deleted", "email", "status"},
            )
        }

    report = check_adapter(
        StripsNames,
        only=["bad_native_records_raise_data_errors"],
        bad_native_records={"customer": [{"full_name": 5}]},
    )
    assert (
        "data-error promise broken: bad customer {'full_name': 5} gave a DataError "
        "naming no field" in report.failures["bad_native_records_raise_data_errors"]
    )


def test_a_mapping_that_wrongly_claims_to_round_trip_fails_the_round_trip_check() -> None:
    from collections.abc import Mapping

    from crmerp.adapters import EntityMapping
    from crmerp.models import CanonicalModel
    from tests.testing.toy_adapter import CUSTOMER

    class ClaimsToRoundTrip(ToyAdapter):
        """Keeps the first email of several, yet its mapping claims round_trips."""

        mappings = {
            "customer": EntityMapping(
                CUSTOMER.model,
                CUSTOMER.fields,
                omits=CUSTOMER.omits,
                ignore=CUSTOMER.ignore,
                round_trips=True,
            )
        }

    def two_emails(entity: str, n: int, refs: Mapping[str, Sequence[str]]) -> CanonicalModel:
        record = sample_record(entity, n, refs)
        return record.model_copy(update={"emails": [f"a{n}@example.com", f"b{n}@example.com"]})

    with pytest.raises(AssertionError, match=r"round-trip promise broken: .*round_trips=True"):
        AdapterConformance().test_round_trip(adapter=ClaimsToRoundTrip(), make_canonical=two_emails)


class FindRaises(ToyAdapter):
    """An adapter whose find_by_reference raises instead of answering."""

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        raise KeyError("ref index not loaded")


def test_an_adapter_that_raises_fails_that_check_and_the_rest_still_run() -> None:
    report = check_adapter(FindRaises)

    assert report.failures["find_by_reference"] == (
        "find_by_reference: the adapter raised KeyError: 'ref index not loaded'"
    )
    assert "capabilities" in report.passed
    assert set(report.passed) | set(report.failures) == set(CHECKS)  # every check ran


def test_in_pytest_an_adapter_that_raises_fails_the_check_naming_the_exception() -> None:
    suite = AdapterConformance()
    with pytest.raises(AssertionError, match="find_by_reference: the adapter raised KeyError"):
        suite.test_find_by_reference(adapter=FindRaises(), make_canonical=sample_record)


def test_an_adapter_that_cannot_be_made_fails_every_check_with_the_reason() -> None:
    def refuses() -> ToyAdapter:
        raise ConnectionRefusedError("no server on 127.0.0.1:9")

    report = check_adapter(refuses, only=["capabilities", "round_trip"])

    assert report.passed == ()
    assert report.failures["round_trip"] == (
        "round_trip: making the adapter raised ConnectionRefusedError: no server on 127.0.0.1:9"
    )
