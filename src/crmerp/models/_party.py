"""Customers: companies or people, with addresses and contact persons."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from crmerp.models._base import CanonicalModel
from crmerp.models._money import CurrencyCode, Money
from crmerp.models._normalize import (
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_tax_id,
)

__all__ = ["Address", "AddressKind", "ContactPerson", "Customer", "CustomerKind", "Phone"]


class CustomerKind(StrEnum):
    """Whether a customer is a company or a private person."""

    COMPANY = "company"
    PERSON = "person"


class AddressKind(StrEnum):
    """What an address is used for."""

    BILLING = "billing"
    SHIPPING = "shipping"
    OTHER = "other"


def _country(value: Any) -> Any:
    return normalize_country(value) if isinstance(value, str) else value


Country = Annotated[str, BeforeValidator(_country)]


class Address(BaseModel):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    kind: AddressKind = AddressKind.BILLING
    street: str = ""
    city: str = ""
    postcode: str = ""
    region: str = ""
    country: Country | None = None


class Phone(BaseModel):
    """A phone number: E.164 where it could be parsed, else kept as given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    is_e164: bool = True

    @classmethod
    def parse(cls, value: str, region: str | None = None) -> Phone:
        """Parse ``value`` with phonenumbers, defaulting to ``region``."""
        number, ok = normalize_phone(value, region)
        return cls(number=number, is_e164=ok)


def _phones(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, list):
        return value
    region = _default_region(info.data.get("addresses"))
    return [Phone.parse(v, region) if isinstance(v, str) else v for v in value]


def _default_region(addresses: Any) -> str | None:
    for address in addresses or ():
        if isinstance(address, Address) and address.country:
            return address.country
    return None


class ContactPerson(BaseModel):
    """A person to talk to at a customer."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    role: str = ""
    email: str | None = None
    phone: Phone | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> Any:
        return Phone.parse(value) if isinstance(value, str) else value


class Customer(CanonicalModel):
    """A customer as both systems should know it.

    >>> c = Customer(name="Acme GmbH", emails=["Sales@ACME.de"],
    ...              addresses=[{"city": "Berlin", "country": "DE"}], phones=["030 1234567"])
    >>> c.emails, c.phones[0].number
    (['Sales@acme.de'], '+49301234567')
    """

    entity = "customer"

    kind: CustomerKind = CustomerKind.COMPANY
    name: str = Field(min_length=1, max_length=512)
    addresses: list[Address] = Field(default_factory=list)
    tax_id: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[Phone] = Field(default_factory=list)
    contacts: list[ContactPerson] = Field(default_factory=list)
    credit_limit: Money | None = None
    payment_terms: str | None = None
    currency: CurrencyCode | None = None
    active: bool = True

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [normalize_email(v) for v in value]

    @field_validator("phones", mode="before")
    @classmethod
    def _phones(cls, value: Any, info: ValidationInfo) -> Any:
        return _phones(value, info)

    @field_validator("tax_id")
    @classmethod
    def _tax_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        return normalize_tax_id(value, _default_region(info.data.get("addresses")))
