"""Writing to BottleCRM, one record at a time, in as many calls as the API needs.

Each writer turns one :class:`~crmerp.adapters.WriteOp` into API calls and
answers with a :class:`~crmerp.adapters.WriteResult`. A writer raises the
client's errors (which are members of crmerp's error tree) and
:class:`Refused` for what it refuses itself; the adapter turns both into a
per-record answer. Writes are idempotent: a create whose reference (or, for
products, SKU) already exists updates that record, so a retry after a partial
write finishes the job instead of duplicating it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from crmerp._errors import DataError
from crmerp.adapters import WriteKind, WriteOp, WriteResult, global_id_of
from crmerp.adapters.bottlecrm._client import BottleCRMClient
from crmerp.adapters.bottlecrm._errors import BottleCRMNotFound
from crmerp.adapters.bottlecrm._mappings import (
    ACCEPTED_CURRENCIES,
    CENT,
    INVOICE,
    deal_status,
)
from crmerp.adapters.bottlecrm._reads import (
    REFERENCE_KEY,
    SKU_INDEX,
    ReferenceIndex,
    SnapshotReader,
)
from crmerp.adapters.bottlecrm._records import JSONObject
from crmerp.models import Invoice, to_decimal

__all__ = ["Refused", "Writers"]

_ACCOUNT_FIELDS = (
    "name",
    "email",
    "phone",
    "address_line",
    "city",
    "state",
    "postcode",
    "country",
    "currency",
    "is_active",
)
_CONTACT_FIELDS = ("first_name", "last_name", "title", "email", "phone")
_DEAL_LINE_FIELDS = (
    "product_id",
    "name",
    "quantity",
    "unit_price",
    "discount_type",
    "discount_value",
)
_CLOSED_STAGES = frozenset({"CLOSED_WON", "CLOSED_LOST"})


class Refused(DataError):
    """The adapter will not write this record as it is; the reason says why."""


def _check_currency(code: Any, what: str) -> None:
    if code is not None and code not in ACCEPTED_CURRENCIES:
        raise Refused(
            f"BottleCRM accepts only the currencies "
            f"{', '.join(sorted(ACCEPTED_CURRENCIES))}; this {what} is in {code}",
            field="currency",
            value=code,
        )


def _check_places(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    for index, row in enumerate(rows):
        for key in keys:
            if key in row and to_decimal(row[key]).as_tuple().exponent < -2:  # type: ignore[operator]
                raise Refused(
                    f"line {index + 1}: {key} {row[key]} needs more than the two "
                    "decimal places BottleCRM keeps",
                    field=f"lines.{index}.{key}",
                    value=row[key],
                )


def _same(current: Mapping[str, Any], wanted: Mapping[str, Any], keys: Sequence[str]) -> bool:
    return all(_norm(current.get(k)) == _norm(wanted.get(k)) for k in keys if k in wanted)


def _norm(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("id")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return to_decimal(value)
        except DataError:
            return value
    return value


class Writers:
    """Create, update and delete records of each entity; see the module docstring."""

    def __init__(
        self,
        client: BottleCRMClient,
        reader: SnapshotReader,
        index: ReferenceIndex,
        price_list: str | None,
    ) -> None:
        self.client = client
        self.reader = reader
        self.index = index
        self.price_list = price_list

    def write(self, entity: str, op: WriteOp) -> WriteResult:
        """Apply one op of ``entity``."""
        if op.kind is WriteKind.DELETE:
            return self._delete(entity, op)
        handler = getattr(self, f"_{entity}")
        payload = dict(op.payload or {})
        if op.kind is WriteKind.UPDATE:
            result: WriteResult = handler(op, payload, op.native_id)
            return result
        existing = self._existing(entity, op, payload)
        try:
            result = handler(op, payload, existing)
        except BottleCRMNotFound:
            if existing is None:
                raise
            # The record that carried the reference is gone: create it afresh.
            self.index.forget(entity, existing)
            result = handler(op, payload, None)
        return result

    def _existing(self, entity: str, op: WriteOp, payload: Mapping[str, Any]) -> str | None:
        """For a create: the record that already carries this reference (a product: or SKU)."""
        if entity == "price_list":
            return None
        if not self.index.known(entity):
            self.reader.refresh_index(entity)
        found = self.index.get(entity, op.reference)
        if found is None and entity == "product" and payload.get("sku"):
            found = self.index.get(SKU_INDEX, str(payload["sku"]))
        return found

    # --- customers ------------------------------------------------------------------

    def _customer(self, op: WriteOp, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        _check_currency(payload.get("currency"), "customer")
        body = {k: payload[k] for k in _ACCOUNT_FIELDS if k in payload}
        if native_id is None:
            body["custom_fields"] = {REFERENCE_KEY: op.reference}
            native_id = self.client.create_account(body)["id"]
            self.index.note("customer", op.reference, native_id)
            current: list[JSONObject] = []
        else:
            account = self.client.update_account(native_id, body)
            current = [dict(c) for c in account.get("contacts") or ()]
        self._sync_contacts(native_id, payload.get("contacts") or [], current)
        return WriteResult.done(native_id)

    def _sync_contacts(
        self, account_id: str, wanted: Sequence[Mapping[str, Any]], current: list[JSONObject]
    ) -> None:
        """Make the account's contacts the ``wanted`` persons: update the ones that match
        by email (else by name), link or create the missing ones, unlink the rest."""
        unmatched = list(current)
        keep: list[str] = []
        linked = {str(c["id"]) for c in current}
        for person in wanted:
            match = _pick(unmatched, person)
            if match is None:
                contact_id, created = self._add_contact(account_id, person)
                keep.append(contact_id)
                if created:  # a contact created with its account is linked already
                    linked.add(contact_id)
                continue
            unmatched.remove(match)
            if not _same(match, person, _CONTACT_FIELDS):
                self.client.update_contact(match["id"], dict(person))
            keep.append(str(match["id"]))
        if set(keep) != linked:
            self.client.update_account(account_id, {"contacts": keep})

    def _add_contact(self, account_id: str, person: Mapping[str, Any]) -> tuple[str, bool]:
        """The id of the contact for ``person`` and whether it was created just now."""
        # Emails are unique per org: a person already in the CRM is linked, not duplicated.
        email = person.get("email")
        if email:
            for row in self.client.iter_contacts({"email": str(email)}):
                if str(row.get("email") or "").casefold() == str(email).casefold():
                    if not _same(row, person, _CONTACT_FIELDS):
                        self.client.update_contact(row["id"], dict(person))
                    return str(row["id"]), False
        created = self.client.create_contact({**person, "account": account_id})
        return str(created["id"]), True

    # --- products and prices --------------------------------------------------------------

    def _product(self, op: WriteOp, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        body: dict[str, Any] = {
            k: payload[k] for k in ("sku", "name", "description", "is_active") if k in payload
        }
        if op.kind is WriteKind.CREATE:
            # No custom fields on products: the reference goes in the unsynced category.
            body["category"] = op.reference
        if native_id is None:
            native_id = str(self.client.create_product(body)["id"])
            self.index.note("product", op.reference, native_id)
            self.index.note(SKU_INDEX, body.get("sku"), native_id)
        else:
            self.client.update_product(native_id, body)
        return WriteResult.done(native_id)

    def _price_list(
        self, op: WriteOp, payload: dict[str, Any], native_id: str | None
    ) -> WriteResult:
        native_id = native_id or f"price-list:{global_id_of(op.reference) or op.reference}"
        if self.price_list is not None and payload.get("name") != self.price_list:
            return WriteResult.done(native_id)
        currency = payload.get("currency")
        _check_currency(currency, "price list")
        missing = []
        for row in payload.get("prices") or ():
            try:
                self.client.update_product(
                    str(row["product"]), {"price": row["price"], "currency": currency}
                )
            except BottleCRMNotFound:
                missing.append(str(row["product"]))
        if missing:
            raise Refused(
                f"products {', '.join(missing)} are no longer in BottleCRM; "
                "the other prices were written",
                field="items",
            )
        return WriteResult.done(native_id)

    # --- quotes (deals) ---------------------------------------------------------------------

    def _quote(self, op: WriteOp, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        _check_currency(payload.get("currency"), "quote")
        lines = list(payload.get("line_items") or ())
        _check_places(lines, ("quantity", "unit_price", "discount_value"))
        for index, line in enumerate(lines):
            if line.get("product_id") and not to_decimal(line["unit_price"]):
                raise Refused(
                    f"line {index + 1}: BottleCRM replaces a zero unit price by the "
                    "product's price",
                    field=f"lines.{index}.unit_price",
                )
        body = {k: payload.get(k) for k in ("name", "account", "currency", "closed_on")}
        stage = payload.get("stage")
        if native_id is None:
            # A closed deal needs its amount: add the lines first, then close it.
            opening = {} if stage in _CLOSED_STAGES else {"stage": stage}
            created = {**body, **opening, "custom_fields": {REFERENCE_KEY: op.reference}}
            native_id = str(self.client.create_opportunity(created)["id"])
            self.index.note("quote", op.reference, native_id)
            self._sync_lines(native_id, lines, [])
            if stage in _CLOSED_STAGES:
                self.client.update_opportunity(native_id, self._stage_fields(stage, payload, lines))
            return WriteResult.done(native_id)
        deal = self.client.get_opportunity(native_id)
        self._sync_lines(native_id, lines, [dict(li) for li in deal.get("line_items") or ()])
        if deal_status(deal.get("stage"), deal.get("stage_kind")) != deal_status(stage):
            body.update(self._stage_fields(stage, payload, lines))
        self.client.update_opportunity(native_id, body)
        return WriteResult.done(native_id)

    @staticmethod
    def _stage_fields(
        stage: Any, payload: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"stage": stage}
        if stage in _CLOSED_STAGES and not payload.get("closed_on"):
            # A closed deal needs the day it closed; the quote did not say.
            fields["closed_on"] = datetime.now(UTC).date().isoformat()
        if stage == "CLOSED_WON" and not lines:
            # A won deal needs an amount; with lines BottleCRM sums them itself.
            fields["amount"] = "0.00"
        return fields

    def _sync_lines(
        self, deal_id: str, wanted: Sequence[Mapping[str, Any]], current: Sequence[JSONObject]
    ) -> None:
        """Make the deal's lines ``wanted``, position by position."""
        ordered = sorted(current, key=lambda li: (li.get("order", 0), str(li.get("created_at"))))
        for index, line in enumerate(wanted):
            if index < len(ordered):
                have = {**ordered[index], "product_id": ordered[index].get("product")}
                if not _same(have, line, _DEAL_LINE_FIELDS) or have.get("order") != index:
                    self.client.update_opportunity_line_item(
                        deal_id, ordered[index]["id"], dict(line)
                    )
            else:
                self.client.add_opportunity_line_item(deal_id, dict(line))
        for extra in ordered[len(wanted) :]:
            self.client.delete_opportunity_line_item(deal_id, extra["id"])

    # --- invoices -------------------------------------------------------------------------

    def _invoice(self, op: WriteOp, payload: dict[str, Any], native_id: str | None) -> WriteResult:
        _check_currency(payload.get("currency"), "invoice")
        lines = list(payload.get("line_items") or ())
        _check_places(lines, ("quantity", "unit_price", "discount_value", "tax_rate"))
        rate = _invoice_tax_rate(payload, native_id or op.reference)
        body: dict[str, Any] = {
            "invoice_title": payload.get("invoice_title"),
            "currency": payload.get("currency"),
            "tax_rate": str(rate),
        }
        for key in ("issue_date", "due_date"):
            if payload.get(key):
                body[key] = payload[key]
        if native_id is None:
            account_id = str(payload.get("account_id"))
            body.update(
                account_id=account_id,
                contact_id=self._bill_to(account_id),
                line_items=lines,
                reminder_enabled=False,
                custom_fields={REFERENCE_KEY: op.reference},
            )
            invoice: JSONObject = dict(self.client.create_invoice(body))
            native_id = str(invoice["id"])
            self.index.note("invoice", op.reference, native_id)
        else:
            invoice = self._update_invoice(native_id, body, lines)
        wanted = INVOICE_STATUS_OF.get(str(payload.get("status")), "draft")
        self._move_invoice(native_id, str(invoice.get("status")), wanted)
        return WriteResult.done(native_id)

    def _update_invoice(
        self, native_id: str, body: dict[str, Any], lines: Sequence[Mapping[str, Any]]
    ) -> JSONObject:
        invoice = self.client.get_invoice(native_id)
        if invoice.get("status") == "Draft":
            return dict(self.client.update_invoice(native_id, {**body, "line_items": lines}))
        have = sorted(invoice.get("line_items") or [], key=lambda li: li.get("order", 0))
        keys = ("product", "name", "quantity", "unit_price", "discount_value", "tax_rate")
        if (
            len(have) != len(lines)
            or not all(_same(h, w, keys) for h, w in zip(have, lines, strict=False))
            or _norm(invoice.get("tax_rate")) != _norm(body["tax_rate"])
        ):
            raise Refused(
                f"invoice {invoice.get('invoice_number')} is {invoice.get('status')} in "
                "BottleCRM: its lines and amounts can no longer change",
                field="lines",
            )
        del body["tax_rate"]
        return dict(self.client.update_invoice(native_id, body))

    def _bill_to(self, account_id: str) -> str:
        """The contact an invoice is addressed to: BottleCRM requires one."""
        account = self.client.get_account(account_id)
        contacts = [
            c for c in account.get("contacts") or () if c.get("account") in (None, account_id)
        ]
        if not contacts:
            raise Refused(
                f"BottleCRM needs a contact on every invoice and account {account_id} has none",
                field="customer_id",
                value=account_id,
            )
        return str(min(contacts, key=lambda c: (str(c.get("created_at")), str(c["id"])))["id"])

    def _move_invoice(self, invoice_id: str, current: str, wanted: str) -> None:
        """Move an invoice from BottleCRM status ``current`` to canonical status ``wanted``
        through BottleCRM's lifecycle calls (send, mark paid, cancel)."""
        have = INVOICE_STATUS_OF.get(current, current)
        if have == wanted:
            return
        if have == "draft" and wanted == "posted":
            self.client.send_invoice(invoice_id)
        elif have in ("draft", "posted") and wanted == "paid":
            self.client.mark_invoice_paid(
                invoice_id,
                {
                    "payment_method": "OTHER",
                    "reference_number": "crmerp",
                    "notes": "paid according to the ERP",
                },
            )
        elif have in ("draft", "posted") and wanted == "cancelled":
            self.client.cancel_invoice(invoice_id)
        else:
            raise Refused(
                f"BottleCRM cannot move an invoice from {have} to {wanted}",
                field="status",
                value=wanted,
            )

    # --- deletes ----------------------------------------------------------------------------

    def _delete(self, entity: str, op: WriteOp) -> WriteResult:
        native_id = op.native_id
        if native_id is None or entity == "price_list":
            # A price list lives only in the products' prices, which stay as they are.
            return WriteResult.done(native_id or op.reference)
        try:
            if entity == "customer":
                account = self.client.get_account(native_id)
                if account.get("opportunities"):
                    raise Refused(
                        f"account {native_id} has opportunities, which BottleCRM would "
                        "delete with it",
                        field="id",
                        value=native_id,
                    )
                self.client.delete_account(native_id)
            elif entity == "product":
                self.client.delete_product(native_id)
            elif entity == "quote":
                self.client.delete_opportunity(native_id)
            else:
                self._cancel(native_id)
        except BottleCRMNotFound:
            pass
        self.index.forget(entity, native_id)
        if entity == "product":
            self.index.forget(SKU_INDEX, native_id)
        return WriteResult.done(native_id)

    def _cancel(self, invoice_id: str) -> None:
        # Invoices cannot be deleted through the API; cancelling is the closest thing.
        status = self.client.get_invoice(invoice_id).get("status")
        if status != "Cancelled":
            self._move_invoice(invoice_id, str(status), "cancelled")


INVOICE_STATUS_OF: Mapping[str, str] = {
    "Draft": "draft",
    "Sent": "posted",
    "Viewed": "posted",
    "Pending": "posted",
    "Overdue": "posted",
    "Partially_Paid": "posted",
    "Paid": "paid",
    "Cancelled": "cancelled",
}


def _pick(candidates: Sequence[JSONObject], person: Mapping[str, Any]) -> JSONObject | None:
    email = str(person.get("email") or "").casefold()
    if email:
        for row in candidates:
            if str(row.get("email") or "").casefold() == email:
                return row
    name = (str(person.get("first_name")).casefold(), str(person.get("last_name")).casefold())
    for row in candidates:
        if (str(row.get("first_name")).casefold(), str(row.get("last_name")).casefold()) == name:
            return row
    return None


def _invoice_tax_rate(payload: Mapping[str, Any], native_id: str) -> Decimal:
    """The one invoice-level tax rate BottleCRM charges, checked to give the ERP's totals.

    BottleCRM shows each line's rate but charges the invoice's: a total it can show
    exactly needs one rate on every line and the same rounding result.
    """
    canonical = INVOICE.to_canonical(payload, system="bottlecrm", native_id=native_id)
    assert isinstance(canonical, Invoice)
    rates = sorted({line.tax_rate for line in canonical.lines})
    if len(rates) > 1:
        raise Refused(
            "BottleCRM charges one tax rate per invoice; this invoice's lines have "
            f"{', '.join(f'{r}%' for r in rates)}",
            field="lines.tax_rate",
        )
    rate = rates[0] if rates else Decimal(0)
    subtotal = sum(
        (_bottlecrm_line_net(line) for line in payload.get("line_items") or ()), Decimal("0.00")
    )
    tax = (subtotal * rate / Decimal(100)).quantize(CENT, ROUND_HALF_EVEN)
    totals = canonical.compute_totals()
    if (subtotal, tax) != (totals.subtotal.amount, totals.tax.amount):
        raise Refused(
            f"BottleCRM would total this invoice {subtotal} + tax {tax}, the ERP "
            f"{totals.subtotal.amount} + tax {totals.tax.amount} (it rounds per line "
            "and per invoice differently)",
            field="total",
        )
    return rate


def _bottlecrm_line_net(line: Mapping[str, Any]) -> Decimal:
    """A line's net amount as BottleCRM computes it: gross and discount each rounded half-up."""
    gross = (to_decimal(line["quantity"]) * to_decimal(line["unit_price"])).quantize(
        CENT, ROUND_HALF_UP
    )
    off = (gross * to_decimal(line.get("discount_value") or 0) / Decimal(100)).quantize(
        CENT, ROUND_HALF_UP
    )
    return gross - off
