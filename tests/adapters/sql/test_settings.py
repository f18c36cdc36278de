"""Entities declared as settings, as ``crmerp.toml`` gives them: checked, and conformant."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from crmerp import UsageError
from crmerp.adapters import Adapter
from crmerp.adapters.sql import SQLAdapter, entities_from_settings
from crmerp.testing.conformance import AdapterConformance
from tests.adapters.sql._legacy import SETTINGS_TOML


def settings() -> dict[str, Any]:
    entities: dict[str, Any] = tomllib.loads(SETTINGS_TOML)["erp"]["settings"]["entities"]
    return entities


class TestSQLAdapterFromSettings(AdapterConformance):
    @pytest.fixture
    def adapter(self, legacy_url: str) -> Iterator[Adapter]:
        adapter = SQLAdapter(legacy_url, entities=settings())
        yield adapter
        adapter.close()


def test_fields_not_named_are_omitted() -> None:
    customer, product = entities_from_settings(settings())

    assert customer.mapping.omits == {"kind"}
    assert product.mapping.omits == {"kind", "gtin"}
    assert set(customer.children) == {"addresses", "contacts"}


def test_a_table_must_be_named() -> None:
    body = settings()
    del body["customer"]["table"]

    with pytest.raises(UsageError, match=r"entities\.customer\.table must name a column or table"):
        entities_from_settings(body)


@pytest.mark.parametrize(
    ("entity", "key", "value", "message"),
    [
        ("customer", "colour", "red", r"entities\.customer: unknown key 'colour'"),
        ("customers", "table", "x", r"entities\.customers: no such entity"),
    ],
)
def test_wrong_settings_are_named(entity: str, key: str, value: str, message: str) -> None:
    body = settings()
    body.setdefault(entity, {})[key] = value

    with pytest.raises(UsageError, match=message):
        entities_from_settings(body)


def test_an_unknown_field_is_named() -> None:
    body = settings()
    body["customer"]["fields"]["fax"] = "fax"

    with pytest.raises(UsageError, match=r"fields\.fax: Customer has no field 'fax'"):
        entities_from_settings(body)


def test_money_needs_an_amount_and_a_currency() -> None:
    body = settings()
    body["customer"]["fields"]["credit_limit"] = "credit_limit"

    with pytest.raises(UsageError, match="money needs"):
        entities_from_settings(body)


def test_a_table_or_column_that_is_not_there_is_named(legacy_url: str) -> None:
    body = settings()
    body["product"]["stamp"] = "changed_on"

    with pytest.raises(UsageError, match="table 'products' has no stamp column 'changed_on'"):
        SQLAdapter(legacy_url, entities=body)
