"""Price-list line formulas that say a fixed price less a discount, exactly.

A Tryton price-list line computes the unit price with a Python expression. The
adapter writes, and reads back, exactly two shapes::

    Decimal('12.50')                                   # 12.50, no discount
    Decimal('12.50') * (1 - Decimal('0.05'))           # 12.50 less 5 %

The discount is stored as a fraction (5 % -> ``0.05``), both numbers as
``Decimal`` literals, so the value survives the round trip digit for digit and
Tryton evaluates it without a float. Bare decimal literals (``12.50``, which
Tryton turns into ``Decimal`` itself) are read too. Any other formula, such as
``unit_price * 0.9``, depends on the product's own price, which can change
without the price list changing; the adapter refuses to read it rather than
report a price that may silently go stale.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from crmerp._errors import DataError

__all__ = ["compose_formula", "parse_formula", "plain_decimal"]

_NUMBER: Final = (
    r"(?:Decimal\(\s*(?P<q{n}>['\"])(?P<v{n}>[-+]?\d+(?:\.\d*)?)(?P=q{n})\s*\)"
    r"|(?P<b{n}>\d+\.\d*))"
)
_FIXED: Final = re.compile(rf"^\s*{_NUMBER.format(n=1)}\s*$")
_DISCOUNTED: Final = re.compile(
    rf"^\s*{_NUMBER.format(n=1)}\s*\*\s*\(\s*1\s*-\s*{_NUMBER.format(n=2)}\s*\)\s*$"
)
_HUNDRED: Final = Decimal(100)


def plain_decimal(value: Decimal) -> Decimal:
    """``value`` without trailing zeros or exponent: ``5.00`` -> ``5``, ``0.50`` -> ``0.5``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _number(match: re.Match[str], n: int) -> Decimal:
    text = match.group(f"v{n}") or match.group(f"b{n}")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise DataError(f"{text!r} is not a decimal number", value=text) from None


def parse_formula(formula: str) -> tuple[Decimal, Decimal]:
    """``(unit price, discount percent)`` of a formula in one of the two shapes.

    >>> parse_formula("Decimal('12.50') * (1 - Decimal('0.05'))")
    (Decimal('12.50'), Decimal('5'))
    """
    if match := _FIXED.match(formula):
        return _number(match, 1), Decimal(0)
    if match := _DISCOUNTED.match(formula):
        return _number(match, 1), plain_decimal(_number(match, 2) * _HUNDRED)
    raise DataError(
        f"price-list formula {formula!r} is not a fixed price: crmerp reads "
        "\"Decimal('12.50')\" or \"Decimal('12.50') * (1 - Decimal('0.05'))\"",
        field="formula",
        value=formula,
    )


def compose_formula(unit_price: Decimal, discount_percent: Decimal) -> str:
    """The formula for ``unit_price`` less ``discount_percent`` percent.

    >>> compose_formula(Decimal("12.50"), Decimal("5"))
    "Decimal('12.50') * (1 - Decimal('0.05'))"
    """
    price = f"Decimal('{_literal(unit_price)}')"
    if not discount_percent:
        return price
    fraction = plain_decimal(discount_percent / _HUNDRED)
    return f"{price} * (1 - Decimal('{_literal(fraction)}'))"


def _literal(value: Decimal) -> str:
    text = format(value, "f")
    if not re.fullmatch(r"[-+]?\d+(?:\.\d*)?", text):
        raise DataError(f"{value!r} cannot be written in a formula", value=value)
    return text
