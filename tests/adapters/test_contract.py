"""The adapter base class: final methods, answer checks, the page loop, the registry."""

from collections.abc import Sequence

import pytest

from crmerp import AdapterError, DataError, UsageError
from crmerp.adapters import (
    Adapter,
    Capabilities,
    EntityMapping,
    NativeRecord,
    Page,
    WriteKind,
    WriteOp,
    WriteResult,
    adapter_class,
    available_adapters,
    field,
    global_id_of,
    reference_for,
    register_adapter,
)
from crmerp.models import Customer
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter
from tests.testing.toy_adapter import ToyAdapter


class Scripted(ToyAdapter):
    """A toy whose pages and write answers a test dictates."""

    def __init__(self, pages: Sequence[Page] = (), answers: Sequence[WriteResult] = ()) -> None:
        super().__init__()
        self.pages = list(pages)
        self.answers = list(answers)
        self.writes = 0

    def read_page(self, entity: str, cursor: str | None, *, limit: int) -> Page:
        return self.pages.pop(0)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self.writes += 1
        return self.answers


def test_overriding_a_final_method_fails_when_the_class_is_made() -> None:
    with pytest.raises(UsageError) as caught:

        class Sneaky(ToyAdapter):
            def read_changes(self, entity: str, cursor: str | None) -> None:  # type: ignore[override]
                pass

    assert caught.value.code == "adapter-final"


def test_a_missing_abstract_method_fails_when_the_adapter_is_created() -> None:
    class Unfinished(Adapter):
        system = "unfinished"

        def capabilities(self) -> Capabilities:
            return Capabilities(readable=frozenset(), writable=frozenset())

    with pytest.raises(TypeError, match="abstract"):
        Unfinished()  # type: ignore[abstract]


def test_read_changes_follows_pages_until_no_more() -> None:
    record = NativeRecord("1")
    adapter = Scripted([Page([record], "1", more=True), Page([record], "2", more=False)])
    pages = list(adapter.read_changes("customer", None))
    assert [p.cursor for p in pages] == ["1", "2"]


def test_a_page_that_does_not_move_the_cursor_is_a_contract_error() -> None:
    adapter = Scripted([Page([], "5", more=True)])
    with pytest.raises(AdapterError, match="does not advance its cursor"):
        list(adapter.read_changes("customer", "5"))


def test_write_checked_wants_one_sound_answer_per_op() -> None:
    op = WriteOp(WriteKind.CREATE, reference_for("g-1"), {"full_name": "A"})
    with pytest.raises(AdapterError, match="answered 0 results for 1 writes"):
        Scripted(answers=[]).write_checked("customer", [op])
    with pytest.raises(AdapterError, match="done without an id"):
        Scripted(answers=[WriteResult(WriteResult.done("x").status)]).write_checked(
            "customer", [op]
        )
    with pytest.raises(AdapterError, match="stale, but it expected no version"):
        Scripted(answers=[WriteResult.stale("changed")]).write_checked("customer", [op])
    quiet = Scripted()
    assert quiet.write_checked("customer", []) == []
    assert quiet.writes == 0


def test_an_entity_without_a_mapping_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        ToyAdapter().mapping("invoice")
    assert caught.value.code == "adapter-no-mapping"


def test_to_canonical_turns_unexpected_errors_into_located_data_errors() -> None:
    class Fragile(ToyAdapter):
        mappings = {
            "customer": EntityMapping(
                Customer,
                [field("name", "full_name", to_canonical=str.strip)],
                omits=set(Customer.model_fields) - {"id", "updated_at", "name"},
            )
        }

    with pytest.raises(DataError) as caught:
        Fragile().to_canonical("customer", NativeRecord("7", {"full_name": 5}))
    assert (caught.value.system, caught.value.entity, caught.value.native_id) == (
        "toy",
        "customer",
        "7",
    )
    assert "cannot map record" in str(caught.value)


def test_references_carry_the_global_id() -> None:
    assert global_id_of(reference_for("g-42")) == "g-42"
    assert global_id_of("someone-elses-id") is None
    assert global_id_of(None) is None


def test_the_fakes_are_found_by_their_entry_point_names() -> None:
    assert {"fake-crm", "fake-erp"} <= set(available_adapters())
    assert adapter_class("fake-crm") is FakeCRMAdapter
    assert adapter_class("fake-erp") is FakeERPAdapter


def test_adapters_registered_in_code_are_found_and_names_stay_unique() -> None:
    register_adapter("toy-for-registry-test", ToyAdapter)
    register_adapter("toy-for-registry-test", ToyAdapter)  # the same class again is fine
    assert adapter_class("toy-for-registry-test") is ToyAdapter
    with pytest.raises(UsageError) as taken:
        register_adapter("toy-for-registry-test", Scripted)
    assert taken.value.code == "registry-taken"
    with pytest.raises(UsageError) as wrong:
        register_adapter("not-an-adapter", dict)  # type: ignore[arg-type]
    assert wrong.value.code == "registry-type"


def test_an_unknown_adapter_name_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"available: .*fake-crm") as caught:
        adapter_class("no-such-system")
    assert caught.value.code == "registry-unknown"
