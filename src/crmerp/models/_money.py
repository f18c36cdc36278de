"""Exact money: a ``Decimal`` amount with an ISO 4217 currency.

The minor units of each currency come from babel's CLDR data, never from a table
typed by hand. A ``float`` is refused as an amount because it cannot hold most
decimal fractions exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, NoReturn

from babel.numbers import get_currency_precision, list_currencies
from pydantic import AfterValidator, GetCoreSchemaHandler, SerializationInfo
from pydantic_core import core_schema

from crmerp._errors import CurrencyMismatch, DataError

__all__ = ["CurrencyCode", "Money", "currency_precision", "to_decimal"]

_KNOWN_CURRENCIES: frozenset[str] = frozenset(list_currencies())


def check_currency(code: Any) -> str:
    """Return ``code`` upper-cased if it is a known ISO 4217 code, else raise ``DataError``."""
    if not isinstance(code, str):
        raise DataError(
            f"currency must be a str, not {type(code).__name__}", field="currency", value=code
        )
    upper = code.strip().upper()
    if upper not in _KNOWN_CURRENCIES:
        raise DataError(f"unknown ISO 4217 currency code {code!r}", field="currency", value=code)
    return upper


CurrencyCode = Annotated[str, AfterValidator(check_currency)]
"""An ISO 4217 currency code such as ``"EUR"``; validated and upper-cased."""


@cache
def currency_precision(code: str) -> int:
    """Number of minor-unit digits of ``code`` (EUR 2, JPY 0, KWD 3), from CLDR."""
    return int(get_currency_precision(check_currency(code)))


@cache
def quantum(code: str) -> Decimal:
    return Decimal(1).scaleb(-currency_precision(code))


def to_decimal(value: Any, *, field: str = "amount") -> Decimal:
    """Turn an int, str or Decimal into a finite ``Decimal``; refuse floats and bools.

    >>> to_decimal("0.10") + to_decimal(2)
    Decimal('2.10')
    """
    kind = type(value)
    result: Decimal
    if kind is Decimal:
        result = value
    elif kind is str:
        try:
            result = Decimal(value)  # Decimal() itself ignores surrounding whitespace
        except InvalidOperation:
            message = f"{value!r} is not a decimal number"
            raise DataError(message, field=field, value=value) from None
    elif isinstance(value, bool | float):
        raise DataError(
            f"{type(value).__name__} {value!r} refused for {field}: "
            "use a str, int or Decimal so the value stays exact",
            field=field,
            value=value,
        )
    elif isinstance(value, int | str | Decimal):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise DataError(
                f"{value!r} is not a decimal number", field=field, value=value
            ) from None
    else:
        raise DataError(
            f"{type(value).__name__} refused for {field}: expected str, int or Decimal",
            field=field,
            value=value,
        )
    if not result.is_finite():
        raise DataError(f"{value!r} is not a finite number", field=field, value=value)
    return result


class Money:
    """An exact amount of one currency; immutable and hashable.

    >>> Money("0.10", "EUR") + Money("0.20", "EUR") == Money("0.30", "EUR")
    True
    >>> Money("2.5", "JPY").rounded()
    Money('2', 'JPY')

    Adding, subtracting or ordering amounts of two currencies raises
    :class:`~crmerp.CurrencyMismatch`; ``==`` between currencies is simply false.
    In pydantic models it validates from ``{"amount": "1.50", "currency": "EUR"}``
    and serialises to JSON with the amount as a string, so it round-trips exactly.
    """

    __slots__ = ("amount", "currency")
    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency", check_currency(currency))

    @classmethod
    def _trusted(cls, amount: Decimal, currency: str) -> Money:
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[type[Money], tuple[str, str]]:
        return (Money, (str(self.amount), self.currency))

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """The amount 0 in ``currency``, at its minor units."""
        return cls(Decimal(0).quantize(quantum(currency)), currency)

    @property
    def minor_units(self) -> int:
        """Digits after the decimal point this currency uses."""
        return currency_precision(self.currency)

    def rounded(self, rounding: str = ROUND_HALF_EVEN) -> Money:
        """This amount rounded to the currency's minor units (half-even by default)."""
        return Money._trusted(
            self.amount.quantize(quantum(self.currency), rounding=rounding), self.currency
        )

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot {op} {self.currency} and {other.currency}",
                field="currency",
                value=other.currency,
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money._trusted(self.amount + self._same(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money._trusted(self.amount - self._same(other, "subtract").amount, self.currency)

    def __neg__(self) -> Money:
        return Money._trusted(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float | bool) or not isinstance(factor, Decimal | int):
            raise TypeError(
                f"Money can be multiplied by Decimal or int, not {type(factor).__name__}"
            )
        return Money._trusted(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def as_dict(self) -> dict[str, str]:
        """``{"amount": "1.50", "currency": "EUR"}``, the JSON form."""
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        fields = core_schema.typed_dict_schema(
            {
                "amount": core_schema.typed_dict_field(
                    core_schema.no_info_before_validator_function(
                        to_decimal, core_schema.decimal_schema(allow_inf_nan=False)
                    )
                ),
                "currency": core_schema.typed_dict_field(
                    core_schema.no_info_after_validator_function(
                        check_currency, core_schema.str_schema(pattern=r"^[A-Za-z]{3}$")
                    )
                ),
            },
            extra_behavior="forbid",
        )
        from_fields = core_schema.no_info_after_validator_function(
            lambda d: cls._trusted(d["amount"], d["currency"]), fields
        )
        return core_schema.json_or_python_schema(
            json_schema=from_fields,
            python_schema=core_schema.no_info_plain_validator_function(_money_from_python),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_money, info_arg=True
            ),
        )


def _money_from_python(value: Any) -> Money:
    """One call for the common Python inputs: a Money, or a dict of amount and currency."""
    if isinstance(value, Money):
        return value
    if not isinstance(value, dict):
        raise DataError(
            f"expected Money or a dict of amount and currency, got {type(value).__name__}",
            value=value,
        )
    unknown = set(value) - {"amount", "currency"}
    if unknown:
        raise DataError(f"unknown money fields {sorted(unknown)}", field=sorted(unknown)[0])
    if "amount" not in value or "currency" not in value:
        raise DataError("money needs both amount and currency", value=value)
    return Money._trusted(to_decimal(value["amount"]), check_currency(value["currency"]))


def _serialize_money(value: Money, info: SerializationInfo) -> dict[str, Any]:
    if info.mode_is_json():
        return value.as_dict()
    return {"amount": value.amount, "currency": value.currency}
