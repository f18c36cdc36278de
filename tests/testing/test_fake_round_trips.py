"""Any valid record survives the fakes: exactly in the ERP, as far as it can in the CRM."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmerp.adapters import Adapter, WriteKind, WriteOp, WriteStatus
from crmerp.models import CanonicalModel
from crmerp.testing import FakeCRMAdapter, FakeERPAdapter
from crmerp.testing import strategies as cst

RECORDS = st.one_of(
    cst.customers(), cst.products(), cst.price_lists(), cst.quotes(), cst.orders(), cst.invoices()
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_parents(adapter: Adapter) -> dict[str, str]:
    """Write one record of each parent entity; their native ids by entity."""
    from crmerp.testing.conformance import sample_record

    ids: dict[str, str] = {}
    for entity in ("customer", "product", "quote", "order"):
        refs = {k: [v] for k, v in ids.items()}
        payload = adapter.to_native(entity, sample_record(entity, 1, refs))
        (result,) = adapter.write(entity, [WriteOp(WriteKind.CREATE, f"crmerp:{entity}", payload)])
        assert result.native_id is not None, result.reason
        ids[entity] = result.native_id
    return ids


def pointing_at(record: CanonicalModel, ids: dict[str, str]) -> CanonicalModel:
    """``record`` with every reference replaced by the native id of a real parent."""
    data: dict[str, Any] = record.model_dump()
    for key, entity in (("customer_id", "customer"), ("quote_id", "quote"), ("order_id", "order")):
        if data.get(key):
            data[key] = ids[entity]
    for item in [*data.get("lines", []), *data.get("items", [])]:
        if item.get("product_id"):
            item["product_id"] = ids["product"]
    return type(record).model_validate(data)


def write_and_read(adapter: Adapter, record: CanonicalModel) -> CanonicalModel:
    entity = record.entity
    op = WriteOp(WriteKind.CREATE, f"crmerp:{record.id}", adapter.to_native(entity, record))
    (result,) = adapter.write(entity, [op])
    assert result.status is WriteStatus.DONE, result.reason
    (native,) = adapter.fetch(entity, [result.native_id or ""])
    return adapter.to_canonical(entity, native)


@SETTINGS
@given(RECORDS)
def test_the_erp_gives_back_every_field_of_any_record(record: CanonicalModel) -> None:
    erp = FakeERPAdapter()
    original = pointing_at(record, with_parents(erp))
    again = write_and_read(erp, original)
    skip = {"id", "updated_at"}
    assert again.model_dump(exclude=skip) == original.model_dump(exclude=skip)


@SETTINGS
@given(RECORDS)
def test_the_crm_reads_back_what_it_was_sent(record: CanonicalModel) -> None:
    crm = FakeCRMAdapter()
    original = pointing_at(record, with_parents(crm))
    sent = crm.to_native(original.entity, original)
    again = write_and_read(crm, original)
    assert crm.to_native(original.entity, again) == sent
    kept = crm.mapping(original.entity).carried - {
        "emails",
        "phones",
        "addresses",
        "currency",
        "credit_limit",
    }
    assert again.model_dump(include=kept) == original.model_dump(include=kept)


@SETTINGS
@given(RECORDS)
def test_a_mapping_that_declares_it_round_trips_does(record: CanonicalModel) -> None:
    """The engine skips mapping a record back when its target's mapping declares
    ``round_trips``; so the declaration must hold for any valid record."""
    for adapter in (FakeCRMAdapter(), FakeERPAdapter()):
        mapping = adapter.mapping(record.entity)
        if not mapping.round_trips:
            continue
        original = pointing_at(record, with_parents(adapter))
        again = write_and_read(adapter, original)
        carried = mapping.carried - {"id", "updated_at"}
        assert again.model_dump(include=carried) == original.model_dump(include=carried)


def test_the_crm_customer_mapping_does_not_claim_to_round_trip() -> None:
    # It keeps one phone, one email and the billing address of several: reading
    # back what it writes can differ, so the engine must map its writes back.
    assert not FakeCRMAdapter().mapping("customer").round_trips
    assert FakeERPAdapter().mapping("customer").round_trips
