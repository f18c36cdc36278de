"""SQL entities declared as plain settings (``crmerp.toml``), mappings included.

One table per entity; ``fields`` maps canonical field names to columns::

    [erp.settings.entities.customer]
    table = "customers"
    id = "id"                      # default "id"
    stamp = "updated_at"           # optional: a change feed by (stamp, id)
    reference = "crmerp_ref"       # optional: upsert by reference
    deleted = "deleted"            # optional: soft deletes, reported
    [erp.settings.entities.customer.fields]
    name = "name"
    emails = "email"               # a list field kept in one column: its first value
    phones = "phone"
    credit_limit = { amount = "credit_limit", currency = "credit_currency" }
    [erp.settings.entities.customer.children.addresses]
    table = "customer_addresses"
    parent = "customer_id"
    fields = { kind = "kind", street = "street", city = "city", country = "country" }

Canonical fields not named are omitted: the system does not hold them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from crmerp._errors import UsageError
from crmerp.adapters._mapping import (
    EntityMapping,
    FieldSpec,
    RecordMapping,
    as_list,
    each,
    field,
    first_or_none,
    money,
)
from crmerp.adapters._transforms import first_phone, null_as
from crmerp.adapters.sql._tables import ChildTable, SQLEntity
from crmerp.models import ENTITY_MODELS, Money, Phone

__all__ = ["entities_from_settings"]

_ENTITY_KEYS = {"table", "id", "stamp", "reference", "deleted", "fields", "children"}
_CHILD_KEYS = {"table", "parent", "id", "fields"}


def _bad(message: str) -> UsageError:
    return UsageError(message, code="sql-settings")


def entities_from_settings(settings: Mapping[str, Mapping[str, Any]]) -> list[SQLEntity]:
    """The :class:`SQLEntity` of each entity table in ``settings`` (entity -> table)."""
    return [_entity(name, body) for name, body in settings.items()]


def _entity(name: str, body: Mapping[str, Any]) -> SQLEntity:
    model = ENTITY_MODELS.get(name)
    if model is None:
        raise _bad(f"entities.{name}: no such entity; known: {', '.join(ENTITY_MODELS)}")
    _known_keys(body, _ENTITY_KEYS, f"entities.{name}")
    children_body = _table_of(body, "children", f"entities.{name}")
    children = {
        child: _child(f"entities.{name}.children.{child}", model, child, spec)
        for child, spec in children_body.items()
    }
    specs = _specs(model, _table_of(body, "fields", f"entities.{name}"), f"entities.{name}")
    specs += [each(c, c, mapping) for c, (_, mapping) in children.items()]
    carried = {s.canonical for s in specs}
    mapping = EntityMapping(model, specs, omits=_omitted(model, carried))
    return SQLEntity(
        entity=name,
        table=_text(body, "table", f"entities.{name}"),
        mapping=mapping,
        id_column=_text(body, "id", f"entities.{name}", "id"),
        stamp_column=_optional_text(body, "stamp", f"entities.{name}"),
        reference_column=_optional_text(body, "reference", f"entities.{name}"),
        deleted_column=_optional_text(body, "deleted", f"entities.{name}"),
        children={c: table for c, (table, _) in children.items()},
    )


def _child(
    where: str, model: type[BaseModel], name: str, body: Any
) -> tuple[ChildTable, RecordMapping[Any]]:
    if not isinstance(body, Mapping):
        raise _bad(f"{where} must be a table")
    _known_keys(body, _CHILD_KEYS, where)
    item = _list_item(model, name)
    if item is None:
        raise _bad(f"{where}: {model.__name__}.{name} is not a list of records")
    specs = _specs(item, _table_of(body, "fields", where), where)
    mapping = RecordMapping(item, specs, omits=_omitted(item, {s.canonical for s in specs}))
    table = ChildTable(
        _text(body, "table", where), _text(body, "parent", where), _text(body, "id", where, "id")
    )
    return table, mapping


def _specs(model: type[BaseModel], fields: Mapping[str, Any], where: str) -> list[FieldSpec]:
    specs = []
    for name, column in fields.items():
        if name not in model.model_fields:
            known = ", ".join(model.model_fields)
            raise _bad(f"{where}.fields.{name}: {model.__name__} has no field {name!r}; {known}")
        specs.append(_spec(model, name, column, f"{where}.fields.{name}"))
    return specs


def _spec(model: type[BaseModel], name: str, column: Any, where: str) -> FieldSpec:
    annotation = model.model_fields[name].annotation
    if _is(annotation, Money):
        if not isinstance(column, Mapping) or "amount" not in column:
            raise _bad(f'{where}: money needs {{ amount = "...", currency = "..." }}')
        return money(
            name,
            amount=str(column["amount"]),
            currency=column.get("currency"),
            fixed_currency=column.get("fixed_currency"),
        )
    if not isinstance(column, str) or not column:
        raise _bad(f"{where} must name a column")
    item = _list_item(model, name)
    if item is Phone:
        return field(name, column, to_canonical=_listed, to_native=first_phone)
    if _is_list(annotation):
        return field(name, column, to_canonical=_listed, to_native=first_or_none)
    default = model.model_fields[name].get_default(call_default_factory=True)
    if model.model_fields[name].is_required():
        return field(name, column)
    return field(name, column, to_canonical=null_as(default))


def _listed(value: Any) -> list[Any]:
    return [] if value is None or value == "" else as_list(value)


def _omitted(model: type[BaseModel], carried: set[str]) -> set[str]:
    return set(model.model_fields) - carried - {"id", "updated_at"}


def _args(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _is(annotation: Any, kind: type) -> bool:
    return any(isinstance(a, type) and issubclass(a, kind) for a in _args(annotation))


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(a) is list for a in _args(annotation))


def _list_item(model: type[BaseModel], name: str) -> Any:
    for arg in _args(model.model_fields[name].annotation):
        if typing.get_origin(arg) is list:
            (item,) = typing.get_args(arg)
            return item
    return None


def _known_keys(body: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise _bad(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")


def _table_of(body: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = body.get(key, {})
    if not isinstance(value, Mapping):
        raise _bad(f"{where}.{key} must be a table")
    return value


def _text(body: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise _bad(f"{where}.{key} must name a column or table")
    return value


def _optional_text(body: Mapping[str, Any], key: str, where: str) -> str | None:
    return _text(body, key, where) if key in body else None
