"""FakeCRM: a Salesforce-like CRM held in memory.

Objects and fields are spelled the Salesforce way: ``Account`` (one email, one
phone, a billing and a shipping address, contacts as a related list),
``Product2``, ``Pricebook2`` with its entries, ``Opportunity`` (the quote),
``Order`` and a custom ``Invoice__c``. Ids are 18 characters with a prefix per
object (``001`` for accounts), money and quantities are decimal strings with a
``CurrencyIsoCode`` per record, stamps look like ``2024-01-01T00:00:01.000+0000``.
Deleted records stay as tombstones (``IsDeleted``), as in the recycle bin.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from crmerp.testing._schema import TableSchema
from crmerp.testing._system import FakeSystem, _Row

__all__ = ["FakeCRM"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PREFIX = {
    "Account": "001",
    "Product2": "01t",
    "Pricebook2": "01s",
    "Opportunity": "006",
    "Order": "801",
    "Invoice__c": "a0B",
}
_CURRENCIES = frozenset(
    {"EUR", "USD", "GBP", "CHF", "JPY", "SEK", "KWD", "INR", "BHD", "KRW", "TND", "CLF"}
)


def _lines(key: str, extra_required: tuple[str, ...] = ()) -> dict[str, Any]:
    path = f"{key}.records"
    return {
        "lists": (path,),
        "required": (f"{path}.Quantity", f"{path}.UnitPrice", *extra_required),
        "decimals": tuple(
            f"{path}.{f}" for f in ("Quantity", "UnitPrice", "Discount", "Tax_Rate__c")
        ),
        "links": {f"{path}.Product2Id": "Product2"},
        "codes": {f"{path}.CurrencyIsoCode": _CURRENCIES},
    }


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = (*merged.get(key, ()), *value)
    return merged


_OPPORTUNITY_STAGES = frozenset(
    {
        "Prospecting",
        "Qualification",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
        "Expired",
        "Converted",
    }
)
_ORDER_STATUSES = frozenset({"Draft", "Activated", "Fulfilled", "Invoiced", "Cancelled"})
_INVOICE_STATUSES = frozenset({"Draft", "Posted", "Paid", "Cancelled"})


class FakeCRM(FakeSystem[str]):
    """A Salesforce-like CRM, in memory or backed by a JSON file.

    >>> crm = FakeCRM()
    >>> account = crm.create("Account", Name="Acme GmbH", Phone="+49 30 1234567")
    >>> account[:3], crm.read("Account", account)["Name"]
    ('001', 'Acme GmbH')
    """

    name = "fake-crm"
    TABLES = {
        "customer": "Account",
        "product": "Product2",
        "price_list": "Pricebook2",
        "quote": "Opportunity",
        "order": "Order",
        "invoice": "Invoice__c",
    }
    REFERENCE_FIELD = "External_Id__c"
    STAMP_FIELD = "LastModifiedDate"
    SYSTEM_FIELDS = frozenset(
        {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
    )
    SCHEMAS: ClassVar[dict[str, TableSchema]] = {
        "Account": TableSchema(
            required=("Name", "Contacts.records.Name"),
            texts=("Name", "Email__c", "Phone", "Tax_Id__c", "Payment_Terms__c"),
            codes={
                "Active__c": {"Yes", "No"},
                "IsPersonAccount": {True, False},
                "CurrencyIsoCode": _CURRENCIES,
            },
            decimals=("Credit_Limit__c",),
            lists=("Contacts.records",),
            defaults={"Active__c": "Yes", "IsPersonAccount": False},
        ),
        "Product2": TableSchema(
            required=("ProductCode", "Name"),
            texts=("ProductCode", "Name", "Description"),
            codes={"Family": {"Goods", "Services"}, "IsActive": {True, False}},
            defaults={"IsActive": True, "Family": "Goods"},
        ),
        "Pricebook2": TableSchema(
            **_merge(
                {
                    "required": ("Name", "CurrencyIsoCode"),
                    "texts": ("Name",),
                    "codes": {"CurrencyIsoCode": _CURRENCIES, "IsActive": {True, False}},
                    "defaults": {"IsActive": True},
                },
                {
                    "lists": ("PricebookEntries.records",),
                    "required": (
                        "PricebookEntries.records.Product2Id",
                        "PricebookEntries.records.UnitPrice",
                    ),
                    "decimals": tuple(
                        f"PricebookEntries.records.{f}"
                        for f in ("UnitPrice", "Min_Quantity__c", "Discount__c")
                    ),
                    "links": {"PricebookEntries.records.Product2Id": "Product2"},
                },
            )
        ),
        "Opportunity": TableSchema(
            **_merge(
                {
                    "required": ("AccountId", "StageName", "CurrencyIsoCode"),
                    "codes": {"StageName": _OPPORTUNITY_STAGES, "CurrencyIsoCode": _CURRENCIES},
                    "links": {"AccountId": "Account"},
                    "texts": ("Name", "Quote_Number__c"),
                },
                _lines("OpportunityLineItems"),
            )
        ),
        "Order": TableSchema(
            **_merge(
                {
                    "required": ("AccountId", "Status", "CurrencyIsoCode"),
                    "codes": {"Status": _ORDER_STATUSES, "CurrencyIsoCode": _CURRENCIES},
                    "links": {"AccountId": "Account", "OpportunityId": "Opportunity"},
                    "texts": ("OrderNumber",),
                    "defaults": {"Status": "Draft"},
                },
                _lines("OrderItems"),
            )
        ),
        "Invoice__c": TableSchema(
            **_merge(
                {
                    "required": ("Account__c", "Status__c", "CurrencyIsoCode"),
                    "codes": {"Status__c": _INVOICE_STATUSES, "CurrencyIsoCode": _CURRENCIES},
                    "links": {"Account__c": "Account", "Order__c": "Order"},
                    "texts": ("Invoice_Number__c", "Payment_Terms__c"),
                    "defaults": {"Status__c": "Draft"},
                },
                _lines("Invoice_Lines__r"),
            )
        ),
    }

    def _new_key(self, table: str, number: int) -> str:
        digits = ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return f"{_PREFIX[table]}5J000{digits.rjust(10, '0')}"

    def _native_id(self, key: str) -> str:
        return key

    def _decimal(self, value: Decimal) -> Any:
        return str(value)

    def _present(self, table: str, row: _Row) -> dict[str, Any]:
        return {
            "Id": row.key,
            **row.values,  # a fresh copy each time
            "IsDeleted": row.deleted,
            "CreatedDate": _stamp(row.created),
            "LastModifiedDate": (modified := _stamp(row.stamp)),
            "SystemModstamp": modified,
        }


def _stamp(when: datetime) -> str:
    # isoformat is several times cheaper than strftime; its first 23 characters
    # are the date, the time and the milliseconds (cut, not rounded).
    return when.isoformat(timespec="milliseconds")[:23] + "+0000"
