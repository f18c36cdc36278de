"""Comparators sort pairs into agreement levels; missing values are no evidence."""

from datetime import date

from crmerp.match import NULL, AnyShared, DateComparator, Exact, Numeric, Similarity


def test_missing_values_are_null_for_every_comparator() -> None:
    assert Exact()(None, "x") == NULL
    assert Similarity()("", "x") == NULL
    assert AnyShared()(frozenset(), frozenset({"x"})) == NULL
    assert DateComparator()(None, date(2020, 1, 1)) == NULL
    assert Numeric()(1.0, None) == NULL


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
