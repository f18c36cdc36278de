"""The BottleCRM adapter against a real BottleCRM server.

Round trips per entity, stable full reads, references, and per-record write
answers. Every test tags the names it creates: the server is shared by the session.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crmerp.adapters import (
    NativeRecord,
    WriteKind,
    WriteOp,
    WriteResult,
    WriteStatus,
    reference_for,
)
from crmerp.adapters.bottlecrm import BottleCRMAdapter
from crmerp.models import (
    CanonicalModel,
    Customer,
    Invoice,
    PriceList,
    Product,
    Quote,
    new_global_id,
)

pytestmark = pytest.mark.live


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _create(adapter: BottleCRMAdapter, entity: str, record: CanonicalModel) -> tuple[str, str]:
    """Write ``record`` as a create; returns (native id, reference)."""
    reference = reference_for(new_global_id())
    op = WriteOp(WriteKind.CREATE, reference, adapter.to_native(entity, record))
    (result,) = adapter.write(entity, [op])
    assert result.status is WriteStatus.DONE, result.reason
    assert result.native_id is not None
    return result.native_id, reference


def _update(
    adapter: BottleCRMAdapter, entity: str, native_id: str, record: CanonicalModel
) -> WriteResult:
    op = WriteOp(WriteKind.UPDATE, "crmerp:unused", adapter.to_native(entity, record), native_id)
    (result,) = adapter.write(entity, [op])
    return result


def _changed(record: Any, **changes: Any) -> Any:
    """A validated copy of ``record`` with ``changes`` (totals derived afresh)."""
    data = record.model_dump(exclude={"subtotal", "tax_total", "total"})
    return type(record).model_validate({**data, **changes})


def _read_back(adapter: BottleCRMAdapter, entity: str, native_id: str) -> Any:
    (record,) = adapter.fetch(entity, [native_id])
    return adapter.to_canonical(entity, record)


def _carried(adapter: BottleCRMAdapter, entity: str, record: CanonicalModel) -> dict[str, Any]:
    return record.model_dump(include=set(adapter.mapping(entity).carried))


def _customer(tag: str, **changes: Any) -> Customer:
    fields: dict[str, Any] = {
        "name": f"Acme {tag} GmbH",
        "emails": [f"info@acme-{tag}.example"],
        "phones": ["+49 30 1234567"],
        "addresses": [
            {"street": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"}
        ],
        "contacts": [
            {
                "name": "Ada Lovelace",
                "role": "CTO",
                "email": f"ada@acme-{tag}.example",
                "phone": "+44 20 7946 0000",
            },
            {"name": "Grace Hopper", "role": "Buyer", "email": f"grace@acme-{tag}.example"},
        ],
        "currency": "EUR",
    }
    return Customer(**{**fields, **changes})


def _product(tag: str, n: int = 1) -> Product:
    return Product(sku=f"W-{tag}-{n}", name=f"Widget {tag} {n}", description="A widget")


def _lines(product_id: str, *quantities: str) -> list[dict[str, Any]]:
    return [
        {
            "product_id": product_id,
            "description": f"Widget x{q}",
            "quantity": q,
            "unit_price": {"amount": "12.50", "currency": "EUR"},
            "discount_percent": "10",
        }
        for q in quantities
    ]


# --- customers ------------------------------------------------------------------------


def test_customer_round_trip_keeps_address_contacts_and_reference(
    bottlecrm: BottleCRMAdapter,
) -> None:
    sent = _customer(_tag())
    native_id, reference = _create(bottlecrm, "customer", sent)

    (record,) = bottlecrm.fetch("customer", [native_id])
    assert record.reference == reference
    back = bottlecrm.to_canonical("customer", record)
    assert _carried(bottlecrm, "customer", back) == _carried(bottlecrm, "customer", sent)
    assert back.phones[0].number == "+49301234567"
    assert [c.name for c in back.contacts] == ["Ada Lovelace", "Grace Hopper"]

    account = bottlecrm.client.get_account(native_id)
    assert (account["address_line"], account["city"], account["country"]) == (
        "Hauptstr. 1",
        "Berlin",
        "DE",
    )


def test_customer_update_edits_links_and_unlinks_contacts(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    native_id, _ = _create(bottlecrm, "customer", _customer(tag))
    before = bottlecrm.client.get_account(native_id)["contacts"]
    grace = next(c for c in before if c["first_name"] == "Grace")

    changed = _customer(
        tag,
        addresses=[
            {"street": "Am Markt 2", "city": "Potsdam", "postcode": "14467", "country": "DE"}
        ],
        contacts=[
            {"name": "Ada Lovelace", "role": "CEO", "email": f"ada@acme-{tag}.example"},
            {"name": "Linus", "role": "Admin"},
        ],
    )
    assert _update(bottlecrm, "customer", native_id, changed).status is WriteStatus.DONE

    back = _read_back(bottlecrm, "customer", native_id)
    assert back.addresses[0].city == "Potsdam"
    assert [(c.name, c.role) for c in back.contacts] == [
        ("Ada Lovelace", "CEO"),
        ("Linus", "Admin"),
    ]
    # A contact person dropped by the sync is unlinked, not deleted from the CRM.
    assert bottlecrm.client.get_contact(grace["id"])["email"] == f"grace@acme-{tag}.example"


def test_create_with_a_known_reference_updates_instead_of_duplicating(
    bottlecrm: BottleCRMAdapter,
) -> None:
    tag = _tag()
    reference = reference_for(new_global_id())
    first = WriteOp(WriteKind.CREATE, reference, bottlecrm.to_native("customer", _customer(tag)))
    again = WriteOp(
        WriteKind.CREATE,
        reference,
        bottlecrm.to_native("customer", _customer(tag, phones=["+49 30 7654321"])),
    )

    (one,) = bottlecrm.write("customer", [first])
    # A new adapter, as after a crash between the write and the commit.
    other = BottleCRMAdapter(bottlecrm.client.base_url, client=bottlecrm.client)
    (two,) = other.write("customer", [again])

    assert one.native_id == two.native_id
    named = list(bottlecrm.client.iter_accounts({"search": tag}))
    assert len(named) == 1
    assert named[0]["phone"] == "+49307654321"


def test_one_bad_record_fails_alone_with_its_reason(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    good = [_customer(f"{tag}a"), _customer(f"{tag}b")]
    swedish = _customer(f"{tag}c", currency="SEK")
    duplicate = _customer(f"{tag}a", emails=[], contacts=[])
    ops = [
        WriteOp(
            WriteKind.CREATE, reference_for(new_global_id()), bottlecrm.to_native("customer", c)
        )
        for c in (good[0], swedish, duplicate, good[1])
    ]
    ops.append(
        WriteOp(
            WriteKind.UPDATE, "crmerp:gone", ops[0].payload, "00000000-0000-0000-0000-000000000000"
        )
    )

    results = bottlecrm.write("customer", ops)

    assert [r.status for r in results] == [
        WriteStatus.DONE,
        WriteStatus.FAILED,
        WriteStatus.FAILED,
        WriteStatus.DONE,
        WriteStatus.FAILED,
    ]
    assert "SEK" in results[1].reason
    assert "EUR" in results[1].reason  # names the currencies BottleCRM accepts
    assert "already exists" in results[2].reason
    assert "No Account matches" in results[4].reason or "404" in results[4].reason
    assert not list(bottlecrm.client.iter_accounts({"search": f"{tag}c"}))


# --- products and prices ------------------------------------------------------------------


def test_product_round_trip_and_price_list_sets_net_price(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    first, first_ref = _create(bottlecrm, "product", _product(tag, 1))
    second, _ = _create(bottlecrm, "product", _product(tag, 2))
    (record,) = bottlecrm.fetch("product", [first])
    assert record.reference == first_ref
    assert bottlecrm.to_canonical("product", record).sku == f"W-{tag}-1"

    prices = PriceList(
        name="Retail",
        currency="EUR",
        items=[
            {
                "product_id": first,
                "unit_price": {"amount": "100.0000", "currency": "EUR"},
                "discount_percent": "12.5",
            },
            {
                "product_id": first,
                "unit_price": {"amount": "100.00", "currency": "EUR"},
                "min_quantity": "10",
                "discount_percent": "20",
            },
            {"product_id": second, "unit_price": {"amount": "19.99", "currency": "EUR"}},
        ],
    )
    _create(bottlecrm, "price_list", prices)

    assert (
        bottlecrm.client.get_product(first)["price"],
        bottlecrm.client.get_product(first)["currency"],
    ) == ("87.50", "EUR")
    assert bottlecrm.client.get_product(second)["price"] == "19.99"


def test_only_the_chosen_price_list_reaches_the_products(
    bottlecrm_server: Any, bottlecrm: BottleCRMAdapter
) -> None:
    tag = _tag()
    product, _ = _create(bottlecrm, "product", _product(tag))
    chosen = BottleCRMAdapter(
        bottlecrm_server.base_url, bottlecrm_server.token, price_list="Retail"
    )
    for name, price in (("Retail", "10.00"), ("Wholesale", "7.00")):
        _create(
            chosen,
            "price_list",
            PriceList(
                name=name,
                currency="EUR",
                items=[{"product_id": product, "unit_price": {"amount": price, "currency": "EUR"}}],
            ),
        )
    chosen.close()
    assert bottlecrm.client.get_product(product)["price"] == "10.00"


def test_product_create_with_a_known_sku_adopts_that_product(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    existing = bottlecrm.client.create_product({"name": "Made in the CRM", "sku": f"W-{tag}-1"})
    native_id, reference = _create(bottlecrm, "product", _product(tag))
    assert native_id == existing["id"]
    assert bottlecrm.find_by_reference("product", [reference])[reference].id == native_id


# --- quotes -------------------------------------------------------------------------------


def test_quote_round_trip_then_lines_and_stage_change(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    customer, _ = _create(bottlecrm, "customer", _customer(tag))
    product, _ = _create(bottlecrm, "product", _product(tag))
    sent = Quote(
        number=f"Deal {tag}",
        customer_id=customer,
        currency="EUR",
        status="sent",
        valid_until=date(2030, 6, 30),
        lines=_lines(product, "3", "2"),
    )
    native_id, reference = _create(bottlecrm, "quote", sent)

    (record,) = bottlecrm.fetch("quote", [native_id])
    assert record.reference == reference
    back = bottlecrm.to_canonical("quote", record)
    assert _carried(bottlecrm, "quote", back) == _carried(bottlecrm, "quote", sent)
    assert record.payload["stage"] == "PROPOSAL"
    assert Decimal(record.payload["amount"]) == back.total.amount == Decimal("56.25")

    won = _changed(sent, status="accepted", lines=back.lines[:1])
    assert _update(bottlecrm, "quote", native_id, won).status is WriteStatus.DONE
    deal = bottlecrm.client.get_opportunity(native_id)
    assert (deal["stage"], deal["stage_kind"], deal["amount"]) == ("CLOSED_WON", "won", "33.75")
    assert len(deal["line_items"]) == 1
    assert _read_back(bottlecrm, "quote", native_id).status == "accepted"


def test_deal_made_in_the_crm_reads_as_a_quote(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    account = bottlecrm.client.create_account({"name": f"Deal owner {tag}"})
    deal = bottlecrm.client.create_opportunity(
        {"name": f"Handmade {tag}", "account": account["id"], "stage": "NEGOTIATION"}
    )
    bottlecrm.client.add_opportunity_line_item(
        deal["id"],
        {
            "name": "Consulting",
            "quantity": "4",
            "unit_price": "250.00",
            "discount_type": "FIXED",
            "discount_value": "100.00",
        },
    )

    quote = _read_back(bottlecrm, "quote", deal["id"])

    assert isinstance(quote, Quote)
    assert (quote.status, quote.currency, quote.customer_id) == ("sent", "EUR", account["id"])
    assert quote.lines[0].discount_percent == Decimal("10")
    assert quote.total.amount == Decimal("900.00")


# --- invoices -----------------------------------------------------------------------------


def _invoice(customer: str, product: str, tag: str, **changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "number": f"INV/{tag}",
        "customer_id": customer,
        "currency": "EUR",
        "status": "posted",
        "issued_on": date(2030, 1, 2),
        "due_on": date(2030, 2, 1),
        "lines": [
            {
                "product_id": product,
                "description": "Widget",
                "quantity": "3",
                "unit_price": {"amount": "85.5000", "currency": "EUR"},
                "tax_rate": "19",
            },
            {
                "description": "Setup",
                "quantity": "1.5",
                "unit_price": {"amount": "80.00", "currency": "EUR"},
                "tax_rate": "19",
            },
        ],
    }
    return Invoice(**{**fields, **changes})


def test_erp_invoice_shows_status_and_exact_totals(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    customer, _ = _create(bottlecrm, "customer", _customer(tag))
    product, _ = _create(bottlecrm, "product", _product(tag))
    sent = _invoice(customer, product, tag)
    native_id, reference = _create(bottlecrm, "invoice", sent)

    crm = bottlecrm.client.get_invoice(native_id)
    assert (crm["invoice_title"], crm["status"]) == (f"INV/{tag}", "Sent")
    assert (crm["subtotal"], crm["tax_amount"], crm["total_amount"]) == (
        str(sent.subtotal.amount),
        str(sent.tax_total.amount),
        str(sent.total.amount),
    )
    assert crm["client_email"] == ""  # so "Sent" never mails the customer from the CRM
    assert bottlecrm.find_by_reference("invoice", [reference])[reference].id == native_id
    back = _read_back(bottlecrm, "invoice", native_id)
    assert _carried(bottlecrm, "invoice", back) == _carried(bottlecrm, "invoice", sent)

    paid = _changed(sent, status="paid")
    assert _update(bottlecrm, "invoice", native_id, paid).status is WriteStatus.DONE
    crm = bottlecrm.client.get_invoice(native_id)
    assert (crm["status"], crm["amount_due"]) == ("Paid", "0.00")


def test_invoices_bottlecrm_cannot_show_exactly_are_refused(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    customer, _ = _create(bottlecrm, "customer", _customer(tag))
    lonely, _ = _create(bottlecrm, "customer", _customer(f"{tag}x", contacts=[]))
    product, _ = _create(bottlecrm, "product", _product(tag))
    mixed = _invoice(customer, product, tag)
    mixed_lines = [mixed.lines[0], mixed.lines[1].model_copy(update={"tax_rate": Decimal(7)})]
    swedish_lines = [
        {**line.model_dump(), "unit_price": {"amount": "10", "currency": "SEK"}}
        for line in mixed.lines
    ]
    cases = [
        _changed(mixed, lines=mixed_lines),
        _changed(mixed, currency="SEK", lines=swedish_lines),
        _invoice(lonely, product, tag),
        _invoice(
            customer,
            product,
            tag,
            lines=[
                {
                    "description": "Odd",
                    "quantity": "1",
                    "tax_rate": "19",
                    "unit_price": {"amount": "10.125", "currency": "EUR"},
                }
            ],
        ),
    ]
    ops = [
        WriteOp(
            WriteKind.CREATE, reference_for(new_global_id()), bottlecrm.to_native("invoice", case)
        )
        for case in cases
    ]

    results = bottlecrm.write("invoice", ops)

    assert [r.status for r in results] == [WriteStatus.FAILED] * 4
    assert "one tax rate" in results[0].reason
    assert "SEK" in results[1].reason
    assert "needs a contact" in results[2].reason
    assert "two decimal places" in results[3].reason
    assert not bottlecrm.find_by_reference("invoice", [op.reference for op in ops])


def test_issued_invoice_lines_cannot_change_but_status_can(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    customer, _ = _create(bottlecrm, "customer", _customer(tag))
    product, _ = _create(bottlecrm, "product", _product(tag))
    sent = _invoice(customer, product, tag)
    native_id, _ = _create(bottlecrm, "invoice", sent)

    refused = _update(bottlecrm, "invoice", native_id, _changed(sent, lines=sent.lines[:1]))
    cancelled = _update(bottlecrm, "invoice", native_id, _changed(sent, status="cancelled"))

    assert refused.status is WriteStatus.FAILED
    assert "can no longer change" in refused.reason
    assert cancelled.status is WriteStatus.DONE
    assert bottlecrm.client.get_invoice(native_id)["status"] == "Cancelled"


# --- full reads ---------------------------------------------------------------------------


def _read_all(
    adapter: BottleCRMAdapter, entity: str, limit: int, between: Any = None
) -> list[NativeRecord]:
    records: list[NativeRecord] = []
    cursor = None
    while True:
        page = adapter.read_page(entity, cursor, limit=limit)
        records.extend(page.records)
        if not page.more:
            return records
        assert page.cursor != cursor
        cursor = page.cursor
        if between is not None:
            between()
            between = None


def test_full_read_pages_are_stable_while_records_come_and_go(
    bottlecrm: BottleCRMAdapter,
) -> None:
    tag = _tag()
    ids = [_create(bottlecrm, "product", _product(tag, n))[0] for n in range(7)]
    before = {r.id for r in _read_all(bottlecrm, "product", 500)}
    late: list[str] = []

    def meddle() -> None:
        # Records created and deleted mid-read shift the API's offsets; the read must not.
        late.append(_create(bottlecrm, "product", _product(tag, 99))[0])
        bottlecrm.client.delete_product(ids[0])

    seen = [r.id for r in _read_all(bottlecrm, "product", 3, meddle)]

    assert len(seen) == len(set(seen)), "a record came twice"
    assert set(seen) == before, "a record was skipped or added mid-read"
    after = {r.id for r in _read_all(bottlecrm, "product", 3)}
    assert late[0] in after
    assert ids[0] not in after


def test_read_resumes_from_a_cursor_of_an_earlier_process(
    bottlecrm_server: Any, bottlecrm: BottleCRMAdapter
) -> None:
    tag = _tag()
    for n in range(5):
        _create(bottlecrm, "customer", _customer(f"{tag}{n}", contacts=[]))
    everything = [r.id for r in _read_all(bottlecrm, "customer", 500)]
    first = bottlecrm.read_page("customer", None, limit=2)

    restarted = BottleCRMAdapter(bottlecrm_server.base_url, bottlecrm_server.token)
    rest = _read_all_from(restarted, "customer", first.cursor, 2)
    restarted.close()

    assert [r.id for r in first.records] + rest == everything


def _read_all_from(
    adapter: BottleCRMAdapter, entity: str, cursor: str | None, limit: int
) -> list[str]:
    ids: list[str] = []
    while True:
        page = adapter.read_page(entity, cursor, limit=limit)
        ids.extend(r.id for r in page.records)
        if not page.more:
            return ids
        cursor = page.cursor


def test_find_by_reference_finds_what_the_engine_created(bottlecrm: BottleCRMAdapter) -> None:
    tag = _tag()
    customer, customer_ref = _create(bottlecrm, "customer", _customer(tag))
    product, product_ref = _create(bottlecrm, "product", _product(tag))
    quote, quote_ref = _create(
        bottlecrm,
        "quote",
        Quote(
            number=f"Deal {tag}", customer_id=customer, currency="EUR", lines=_lines(product, "1")
        ),
    )
    unknown = reference_for(new_global_id())

    found = {
        entity: bottlecrm.find_by_reference(entity, [ref, unknown])
        for entity, ref in (
            ("customer", customer_ref),
            ("product", product_ref),
            ("quote", quote_ref),
        )
    }

    assert {e: {r: rec.id for r, rec in f.items()} for e, f in found.items()} == {
        "customer": {customer_ref: customer},
        "product": {product_ref: product},
        "quote": {quote_ref: quote},
    }
