"""The product catalogue and price lists with quantity breaks and discounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from crmerp._errors import CurrencyMismatch, DataError
from crmerp.models._base import CanonicalModel, Reference
from crmerp.models._money import CurrencyCode, Money, to_decimal
from crmerp.models._normalize import normalize_gtin

__all__ = ["Percent", "PriceList", "PriceListItem", "Product", "ProductKind", "Quantity"]


def _quantity(value: object) -> Decimal:
    return to_decimal(value, field="quantity")


def _percent(value: object) -> Decimal:
    number = to_decimal(value, field="percent")
    if not Decimal(0) <= number <= Decimal(100):
        raise DataError(f"percent {number} is outside 0..100", field="percent", value=value)
    return number


Quantity = Annotated[Decimal, BeforeValidator(_quantity)]
"""An exact quantity (floats refused)."""

Percent = Annotated[Decimal, BeforeValidator(_percent)]
"""An exact percentage between 0 and 100 (floats refused)."""


class ProductKind(StrEnum):
    """Goods are stocked and shipped; services are not."""

    GOODS = "goods"
    SERVICE = "service"


class Product(CanonicalModel):
    """A sellable product."""

    entity = "product"

    sku: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1)
    description: str = ""
    unit: str = "unit"
    kind: ProductKind = ProductKind.GOODS
    gtin: str | None = None
    active: bool = True

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str | None) -> str | None:
        return normalize_gtin(value) if value else None


class PriceListItem(BaseModel):
    """The price of one product from a minimum quantity on, less a discount."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str
    unit_price: Money
    min_quantity: Quantity = Decimal(1)
    discount_percent: Percent = Decimal(0)

    def net_unit_price(self) -> Money:
        """Unit price after the discount, unrounded (exact)."""
        factor = (Decimal(100) - self.discount_percent) / Decimal(100)
        return Money(self.unit_price.amount * factor, self.unit_price.currency)


class PriceList(CanonicalModel):
    """Prices in one currency, valid between two dates.

    >>> pl = PriceList(name="EU", currency="EUR", items=[
    ...     {"product_id": "p1", "unit_price": Money("10.00", "EUR")},
    ...     {"product_id": "p1", "unit_price": Money("10.00", "EUR"),
    ...      "min_quantity": 10, "discount_percent": "5"}])
    >>> str(pl.price_for("p1", 12))
    '9.5000 EUR'
    """

    entity = "price_list"
    references = (Reference(path=("items", "product_id"), entity="product"),)

    name: str = Field(min_length=1)
    currency: CurrencyCode
    valid_from: date | None = None
    valid_to: date | None = None
    items: list[PriceListItem] = Field(default_factory=list)
    active: bool = True

    @field_validator("items")
    @classmethod
    def _canonical_order(cls, items: list[PriceListItem]) -> list[PriceListItem]:
        # The order of items carries no meaning; a fixed order keeps two systems that
        # list them differently from looking changed.
        return sorted(
            items,
            key=lambda i: (i.product_id, i.min_quantity, i.unit_price.amount, i.discount_percent),
        )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for item in self.items:
            if item.unit_price.currency != self.currency:
                raise CurrencyMismatch(
                    f"item for {item.product_id!r} is in {item.unit_price.currency}, "
                    f"price list is in {self.currency}",
                    entity="price_list",
                    field="items.unit_price",
                    value=item.unit_price.currency,
                )
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise DataError(
                "valid_to is before valid_from",
                entity="price_list",
                field="valid_to",
                value=self.valid_to,
            )
        return self

    def is_valid_on(self, day: date) -> bool:
        """True when ``day`` lies within the validity dates."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def price_for(
        self, product_id: str, quantity: Decimal | int | str, on: date | None = None
    ) -> Money | None:
        """Net unit price of ``product_id`` at ``quantity`` on day ``on``.

        The item with the highest minimum quantity not above ``quantity`` applies.
        ``None`` when the list is not valid that day or has no such item.
        """
        qty = to_decimal(quantity, field="quantity")
        if (on is not None and not self.is_valid_on(on)) or not self.active:
            return None
        eligible = [i for i in self.items if i.product_id == product_id and i.min_quantity <= qty]
        if not eligible:
            return None
        best = max(eligible, key=lambda i: i.min_quantity)
        return best.net_unit_price()
