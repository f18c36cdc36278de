"""How FakeCRM's Salesforce-like records map to the canonical models.

Lossy on purpose, as real CRMs are: an account holds one email, one phone, one
billing and one shipping address; opportunities hold no payment terms or issue
date; no document states its totals; products carry no GTIN.
"""

from __future__ import annotations

from crmerp.adapters import (
    AddressSlots,
    EntityMapping,
    RecordMapping,
    as_list,
    day,
    each,
    field,
    first_or_none,
    first_phone,
    money,
    null_as,
    phone_number,
    value_map,
)
from crmerp.models import (
    Address,
    ContactPerson,
    Customer,
    Invoice,
    LineItem,
    Order,
    PriceList,
    PriceListItem,
    Product,
    Quote,
)

__all__ = ["CRM_MAPPINGS"]

_SYSTEM = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "External_Id__c"}
)
_TOTALS = {"subtotal", "tax_total", "total"}

_ADDRESS = RecordMapping(
    Address,
    [
        field("street", to_canonical=null_as("")),
        field("city", to_canonical=null_as("")),
        field("postcode", "postalCode", to_canonical=null_as("")),
        field("region", "state", to_canonical=null_as("")),
        field("country", "countryCode"),
    ],
    omits={"kind"},
)

_CONTACT = RecordMapping(
    ContactPerson,
    [
        field("name", "Name"),
        field("role", "Title", to_canonical=null_as("")),
        field("email", "Email"),
        field("phone", "Phone", to_native=phone_number),
    ],
    ignore={"Id"},
)

CUSTOMER = EntityMapping(
    Customer,
    [
        field("name", "Name"),
        value_map("kind", "IsPersonAccount", {False: "company", True: "person"}, default=False),
        AddressSlots(
            "addresses", {"billing": "BillingAddress", "shipping": "ShippingAddress"}, _ADDRESS
        ),
        field("tax_id", "Tax_Id__c"),
        field("emails", "Email__c", to_canonical=as_list, to_native=first_or_none),
        field("phones", "Phone", to_canonical=as_list, to_native=first_phone),
        each("contacts", "Contacts.records", _CONTACT),
        # The currency first: a credit limit then writes its own currency over it,
        # since a Salesforce record has one CurrencyIsoCode for all its amounts.
        field("currency", "CurrencyIsoCode"),
        money("credit_limit", amount="Credit_Limit__c", currency="CurrencyIsoCode"),
        field("payment_terms", "Payment_Terms__c"),
        value_map("active", "Active__c", {"Yes": True, "No": False}, default="Yes"),
    ],
    ignore=_SYSTEM,
)

PRODUCT = EntityMapping(
    Product,
    [
        field("sku", "ProductCode"),
        field("name", "Name"),
        field("description", "Description", to_canonical=null_as("")),
        field("unit", "QuantityUnitOfMeasure", to_canonical=null_as("unit")),
        value_map("kind", "Family", {"Goods": "goods", "Services": "service"}, default="Goods"),
        field("active", "IsActive", default=True),
    ],
    omits={"gtin"},
    ignore=_SYSTEM,
    round_trips=True,
)

_ENTRY = RecordMapping(
    PriceListItem,
    [
        field("product_id", "Product2Id"),
        money("unit_price", amount="UnitPrice", currency="CurrencyIsoCode", optional=False),
        field("min_quantity", "Min_Quantity__c", to_canonical=null_as("1")),
        field("discount_percent", "Discount__c", to_canonical=null_as("0")),
    ],
    ignore={"Id"},
)

PRICE_LIST = EntityMapping(
    PriceList,
    [
        field("name", "Name"),
        field("currency", "CurrencyIsoCode"),
        day("valid_from", "Valid_From__c"),
        day("valid_to", "Valid_To__c"),
        each("items", "PricebookEntries.records", _ENTRY),
        field("active", "IsActive", default=True),
    ],
    ignore=_SYSTEM,
    round_trips=True,
)

_LINE = RecordMapping(
    LineItem,
    [
        field("product_id", "Product2Id"),
        field("description", "Description", to_canonical=null_as("")),
        field("quantity", "Quantity"),
        field("unit", "Unit__c", to_canonical=null_as("unit")),
        money("unit_price", amount="UnitPrice", currency="CurrencyIsoCode", optional=False),
        field("discount_percent", "Discount", to_canonical=null_as("0")),
        field("tax_rate", "Tax_Rate__c", to_canonical=null_as("0")),
    ],
    ignore={"Id"},
)

STAGES = {
    "Prospecting": "draft",
    "Qualification": "draft",
    "Proposal/Price Quote": "sent",
    "Negotiation/Review": "sent",
    "Closed Won": "accepted",
    "Closed Lost": "rejected",
    "Expired": "expired",
    "Converted": "converted",
}
_STAGE_FOR = {
    "draft": "Prospecting",
    "sent": "Proposal/Price Quote",
    "accepted": "Closed Won",
    "rejected": "Closed Lost",
    "expired": "Expired",
    "converted": "Converted",
}

QUOTE = EntityMapping(
    Quote,
    [
        field("number", "Quote_Number__c", to_canonical=null_as("")),
        field("customer_id", "AccountId"),
        field("currency", "CurrencyIsoCode"),
        each("lines", "OpportunityLineItems.records", _LINE),
        value_map("status", "StageName", STAGES, write_codes=_STAGE_FOR),
        day("valid_until", "CloseDate"),
    ],
    omits={"payment_terms", "issued_on", *_TOTALS},
    ignore={*_SYSTEM, "Name"},
    round_trips=True,
)

ORDER = EntityMapping(
    Order,
    [
        field("number", "OrderNumber", to_canonical=null_as("")),
        field("customer_id", "AccountId"),
        field("currency", "CurrencyIsoCode"),
        each("lines", "OrderItems.records", _LINE),
        value_map(
            "status",
            "Status",
            {
                "Draft": "draft",
                "Activated": "confirmed",
                "Fulfilled": "fulfilled",
                "Invoiced": "invoiced",
                "Cancelled": "cancelled",
            },
        ),
        field("quote_id", "OpportunityId"),
        day("ordered_on", "EffectiveDate"),
    ],
    omits={"payment_terms", *_TOTALS},
    ignore=_SYSTEM,
    round_trips=True,
)

INVOICE = EntityMapping(
    Invoice,
    [
        field("number", "Invoice_Number__c", to_canonical=null_as("")),
        field("customer_id", "Account__c"),
        field("currency", "CurrencyIsoCode"),
        field("payment_terms", "Payment_Terms__c"),
        each("lines", "Invoice_Lines__r.records", _LINE),
        value_map(
            "status",
            "Status__c",
            {"Draft": "draft", "Posted": "posted", "Paid": "paid", "Cancelled": "cancelled"},
        ),
        field("order_id", "Order__c"),
        day("issued_on", "Invoice_Date__c"),
        day("due_on", "Due_Date__c"),
    ],
    omits=_TOTALS,
    ignore=_SYSTEM,
    round_trips=True,
)

CRM_MAPPINGS: dict[str, EntityMapping] = {
    "customer": CUSTOMER,
    "product": PRODUCT,
    "price_list": PRICE_LIST,
    "quote": QUOTE,
    "order": ORDER,
    "invoice": INVOICE,
}
"""Entity name -> mapping of FakeCRM's native records."""
