"""Comparators sort pairs into agreement levels; missing values are no evidence."""

from datetime import date

import pytest

from crmerp.match import (
    NULL,
    AddressComparator,
    AnyShared,
    DateComparator,
    Exact,
    LegalFormComparator,
    NameComparator,
    Numeric,
    Similarity,
    company_name_key,
    normalize_address,
    person_name_key,
)


def test_missing_values_are_null_for_every_comparator() -> None:
    assert Exact()(None, "x") == NULL
    assert Similarity()("", "x") == NULL
    assert AnyShared()(frozenset(), frozenset({"x"})) == NULL
    assert DateComparator()(None, date(2020, 1, 1)) == NULL
    assert Numeric()(1.0, None) == NULL
    assert NameComparator()(person_name_key(""), person_name_key("Jo Li")) == NULL


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Donald Flores", "Donal dFlores"),  # a space slipped
        ("Ronald Giles", "RonaldGiles"),  # a space lost
        ("Karen Anderson", "Anderson, aKren"),  # surname first, two letters swapped
        ("Stephan Mende", "Mbnde Stephan"),  # surname first without a comma, a typo
    ],
)
def test_a_person_s_name_one_slip_apart_is_one_level_below_exact(one: str, other: str) -> None:
    assert NameComparator()(person_name_key(one), person_name_key(other)) == 1


def test_name_levels_fall_as_the_names_part() -> None:
    compare, key = NameComparator(), company_name_key
    assert compare(key("Harper-Palmer Ltd"), key("HARPER PALMER LIMITED")) == 0
    assert compare(key("Harper-Palmer"), key("Hrarper-Palmer")) == 1
    assert compare(key("Mann, Stokes and Read"), key("Mann, Stokes and")) in (2, 3)  # cut short
    assert compare(key("Ortega Holding"), key("Ortega")) == 3  # a word added
    assert compare(key("Harper-Palmer"), key("Zhang Wei Trading")) == 4


def test_similarity_levels_fall_with_the_similarity() -> None:
    compare = Similarity((0.95, 0.85))
    assert compare("weber", "weber") == 0
    assert compare("hammond", "hamond") in (1, 2)
    assert compare("hammond", "zhang") == 3


def test_dates_forgive_transposed_day_and_month_and_a_mistyped_digit() -> None:
    compare = DateComparator(close_days=10)
    born = date(1984, 5, 7)
    assert compare(born, date(1984, 7, 5)) == 1
    assert compare(born, date(1984, 5, 8)) == 1
    assert compare(born, date(1984, 5, 16)) == 2
    assert compare(born, date(1991, 12, 30)) == 3


def test_numbers_compare_by_relative_tolerance() -> None:
    compare = Numeric((0.01, 0.1))
    assert [compare(200.0, v) for v in (200.0, 201.0, 190.0, 100.0)] == [0, 1, 2, 3]


def test_a_legal_form_counts_only_where_the_names_differ() -> None:
    compare = LegalFormComparator()
    assert compare.levels[compare(("mueller bau", "GmbH"), ("mueller", "GmbH"))] == "exact"
    # One name and one form: the form says nothing the name did not.
    assert compare(("mueller", "GmbH"), ("mueller", "GmbH")) == NULL
    # One name, two forms: two companies, whatever the name says.
    assert compare.levels[compare(("mueller", "GmbH"), ("mueller", "KG"))] == "different"
    assert compare(None, ("mueller", "KG")) == NULL


def test_addresses_in_two_countries_are_their_own_level() -> None:
    compare = AddressComparator()
    berlin = normalize_address("Hauptstraße 5", "10115", "Berlin", "DE")
    munich = normalize_address("Leopoldstraße 9", "80802", "München", "DE")
    vienna = normalize_address("Hauptstraße 5", "1010", "Wien", "AT")
    assert compare.levels[compare((berlin,), (munich,))] == "different"
    assert compare.levels[compare((berlin,), (vienna,))] == "another country"
    # A customer with an address in each country is compared on its closest.
    assert compare.levels[compare((berlin, vienna), (munich,))] == "different"
