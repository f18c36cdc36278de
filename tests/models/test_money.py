from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmerp import CurrencyMismatch, DataError
from crmerp.models import Customer, Money, currency_precision
from crmerp.testing import strategies as cst


def test_decimal_sum_is_exact() -> None:
    assert Money("0.10", "EUR") + Money("0.20", "EUR") == Money("0.30", "EUR")


@pytest.mark.parametrize("amount", [0.1, 0.2, 1.0, float("nan")])
def test_float_amount_is_refused_naming_the_field(amount: float) -> None:
    with pytest.raises(DataError, match="refused for amount") as info:
        Money(amount, "EUR")  # type: ignore[arg-type]
    assert info.value.field == "amount"


def test_float_inside_a_model_names_the_nested_field() -> None:
    with pytest.raises(DataError) as info:
        Customer.parse({"name": "Acme", "credit_limit": {"amount": 0.1, "currency": "EUR"}})
    assert info.value.field == "credit_limit.amount"
    assert info.value.entity == "customer"


def test_strings_and_ints_are_accepted() -> None:
    assert Money(3, "EUR").amount == Decimal(3)
    assert Money(" 1.50 ", "eur") == Money(Decimal("1.5"), "EUR")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", ""])
def test_non_numbers_are_refused(bad: str) -> None:
    with pytest.raises(DataError):
        Money(bad, "EUR")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(DataError, match="unknown ISO 4217"):
        Money("1", "XYZ")


def test_adding_two_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatch, match="EUR and USD"):
        Money("1", "EUR") + Money("1", "USD")


def test_ordering_two_currencies_raises_but_equality_is_false() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money("1", "EUR") < Money("2", "USD")
    assert Money("1", "EUR") != Money("1", "USD")


@pytest.mark.parametrize(
    ("currency", "given", "expected"),
    [
        ("JPY", "2.5", "2"),
        ("JPY", "3.5", "4"),
        ("KWD", "1.2345", "1.234"),
        ("BHD", "1.2355", "1.236"),
        ("EUR", "0.125", "0.12"),
        ("EUR", "0.135", "0.14"),
    ],
)
def test_rounding_is_half_even_to_minor_units(currency: str, given: str, expected: str) -> None:
    rounded = Money(given, currency).rounded()
    assert str(rounded.amount) == expected


def test_minor_units_come_from_cldr() -> None:
    assert (currency_precision("JPY"), currency_precision("EUR"), currency_precision("KWD")) == (
        0,
        2,
        3,
    )


def test_rounding_mode_is_explicit() -> None:
    assert Money("0.125", "EUR").rounded("ROUND_HALF_UP") == Money("0.13", "EUR")


def test_money_is_immutable() -> None:
    with pytest.raises(AttributeError):
        Money("1", "EUR").amount = Decimal(2)  # type: ignore[misc]


def test_json_keeps_trailing_zeros() -> None:
    customer = Customer(name="A", credit_limit=Money("10.500", "KWD"))
    assert '"amount":"10.500"' in customer.model_dump_json()


@settings(max_examples=200)
@given(cst.money("EUR"), cst.money("EUR"), cst.money("EUR"))
def test_addition_is_associative_and_commutative(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b) - b == a


@settings(max_examples=200)
@given(cst.money(), st.integers(min_value=-1000, max_value=1000))
def test_multiplication_distributes(m: Money, k: int) -> None:
    assert m * k + m == m * (k + 1)
    assert (m * k).rounded() == m * k  # amounts already at minor units stay there


@settings(max_examples=200)
@given(cst.money())
def test_rounding_is_idempotent_and_within_half_a_unit(m: Money) -> None:
    odd = Money(m.amount + Decimal("0.00001"), m.currency)
    once = odd.rounded()
    assert once.rounded() == once
    assert abs(once.amount - odd.amount) <= Decimal(1).scaleb(-m.minor_units) / 2
