"""Seeded synthetic systems shared by the matching tests."""

import pytest

from tests.match.synthetic import Systems, customer_systems, product_systems


@pytest.fixture(scope="session")
def customers() -> Systems:
    """Two systems of 600 customers each, 420 of them in both, heavily corrupted."""
    return customer_systems(600, seed=7)


@pytest.fixture(scope="session")
def products() -> Systems:
    """Two catalogues of 300 products, 210 of them in both."""
    return product_systems(300, seed=3)
