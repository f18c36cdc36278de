"""Rules: which way each field may flow, and who wins when both sides changed it.

Rules are plain data. :meth:`Rules.default` matches how most companies split the
work (the ERP owns the catalogue, prices, credit and invoices; the CRM owns contact
details, quotes and new orders; customers merge both ways field by field), and
:meth:`Rules.from_toml` reads the same shape from a file::

    [customer]
    create = ["crm->erp", "erp->crm"]
    deletes = "archive"
    default = { direction = "both", policy = "owner", owner = "crm" }

    [customer.fields.credit_limit]
    direction = "erp->crm"
    policy = "owner"
    owner = "erp"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs

from crmerp._errors import ConfigError, UsageError
from crmerp.adapters import ENTITIES

__all__ = ["DeletePolicy", "Direction", "EntityRules", "FieldRule", "Policy", "Rules"]

SIDES = ("crm", "erp")


class Direction(StrEnum):
    """Which way a field's changes may flow."""

    BOTH = "both"
    CRM_TO_ERP = "crm->erp"
    ERP_TO_CRM = "erp->crm"
    NONE = "none"

    def allows_from(self, side: str) -> bool:
        """True when a change made on ``side`` may flow to the other side."""
        # Compared as the str it is: ``.value`` goes through enum's descriptor, and
        # this runs for every field of every record.
        return self is Direction.BOTH or str.__eq__(self, f"{side}->{_other(side)}")


def _other(side: str) -> str:
    return "erp" if side == "crm" else "crm"


class Policy(StrEnum):
    """How a conflict (both sides changed a field differently) is resolved."""

    OWNER = "owner"
    LATEST = "latest"
    FUNCTION = "function"
    PARK = "park"


class DeletePolicy(StrEnum):
    """What a delete on one side does to the other side's record."""

    PROPAGATE = "propagate"
    ARCHIVE = "archive"
    IGNORE = "ignore"


Resolver = Callable[[str, Any, Any, Any], Any]
"""``resolver(field, base, crm_value, erp_value) -> value`` for ``Policy.FUNCTION``."""


@attrs.frozen
class FieldRule:
    """Direction and conflict policy of one field (or an entity's default)."""

    direction: Direction = Direction.BOTH
    policy: Policy = Policy.PARK
    owner: str | None = None
    resolver: Resolver | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.policy is Policy.OWNER and self.owner not in SIDES:
            raise UsageError("policy 'owner' needs owner = 'crm' or 'erp'", code="rules-owner")
        if self.policy is Policy.FUNCTION and self.resolver is None:
            raise UsageError("policy 'function' needs a resolver", code="rules-resolver")


@attrs.frozen
class EntityRules:
    """Rules of one entity: creates, deletes, a default field rule and overrides."""

    create: frozenset[str] = frozenset({"crm->erp", "erp->crm"})
    deletes: DeletePolicy = DeletePolicy.ARCHIVE
    default: FieldRule = FieldRule()
    fields: Mapping[str, FieldRule] = attrs.field(factory=dict)

    def field(self, name: str) -> FieldRule:
        """The rule for ``name`` (its override, else the default)."""
        return self.fields.get(name, self.default)

    def may_create(self, origin: str) -> bool:
        """True when a record new on ``origin`` may be created on the other side."""
        return f"{origin}->{_other(origin)}" in self.create


_CRM_OWNS = FieldRule(Direction.BOTH, Policy.OWNER, "crm")
_ERP_OWNS = FieldRule(Direction.BOTH, Policy.OWNER, "erp")
_FROM_ERP = FieldRule(Direction.ERP_TO_CRM, Policy.OWNER, "erp")
_FROM_CRM = FieldRule(Direction.CRM_TO_ERP, Policy.OWNER, "crm")


def _defaults() -> dict[str, EntityRules]:
    erp_only = frozenset({"erp->crm"})
    return {
        "customer": EntityRules(
            create=frozenset({"crm->erp", "erp->crm"}),
            deletes=DeletePolicy.ARCHIVE,
            default=_CRM_OWNS,
            fields={
                "name": FieldRule(Direction.BOTH, Policy.PARK),
                "credit_limit": _FROM_ERP,
                "payment_terms": _ERP_OWNS,
                "tax_id": _ERP_OWNS,
                "currency": _ERP_OWNS,
                "active": _ERP_OWNS,
            },
        ),
        "product": EntityRules(create=erp_only, deletes=DeletePolicy.ARCHIVE, default=_FROM_ERP),
        "price_list": EntityRules(
            create=erp_only, deletes=DeletePolicy.PROPAGATE, default=_FROM_ERP
        ),
        "quote": EntityRules(
            create=frozenset({"crm->erp"}), deletes=DeletePolicy.PROPAGATE, default=_FROM_CRM
        ),
        "order": EntityRules(
            create=frozenset({"crm->erp", "erp->crm"}),
            deletes=DeletePolicy.IGNORE,
            default=_CRM_OWNS,
            fields={"status": _ERP_OWNS, "number": _ERP_OWNS},
        ),
        "invoice": EntityRules(create=erp_only, deletes=DeletePolicy.IGNORE, default=_FROM_ERP),
    }


@attrs.frozen
class Rules:
    """Rules for every entity. Entities not listed use :meth:`Rules.default`'s."""

    entities: Mapping[str, EntityRules] = attrs.field(factory=_defaults)
    convert_accepted_quotes: bool = True
    """When a quote becomes accepted, derive an order from it (CRM -> ERP)."""

    @classmethod
    def default(cls) -> Rules:
        """The business defaults described in the module docstring."""
        return cls()

    def entity(self, name: str) -> EntityRules:
        """The rules of entity ``name``."""
        return self.entities.get(name) or _defaults().get(name) or EntityRules()

    def with_field(self, entity: str, field: str, rule: FieldRule) -> Rules:
        """A copy with ``rule`` for one field."""
        current = self.entity(entity)
        fields = {**current.fields, field: rule}
        return attrs.evolve(
            self, entities={**self.entities, entity: attrs.evolve(current, fields=fields)}
        )

    @classmethod
    def from_toml(
        cls, path: str | Path, *, resolvers: Mapping[str, Resolver] | None = None
    ) -> Rules:
        """Load rules from a TOML file; errors name the file, line and key."""
        text = Path(path).read_text()
        return cls.from_toml_text(text, path=str(path), resolvers=resolvers)

    @classmethod
    def from_toml_text(
        cls, text: str, *, path: str = "<rules>", resolvers: Mapping[str, Resolver] | None = None
    ) -> Rules:
        """Load rules from TOML text (see :meth:`from_toml`)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = _decode_line(str(exc))
            raise ConfigError(f"invalid TOML: {exc}", path=path, line=line) from None
        return cls.from_dict(data, _Locator(text, path), resolvers or {})

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        locator: _Locator | None = None,
        resolvers: Mapping[str, Resolver] | None = None,
    ) -> Rules:
        """Build rules from a dict of the TOML shape."""
        where = locator or _Locator("", "<rules>")
        defaults = _defaults()
        entities = dict(defaults)
        options = dict(data)
        convert = options.pop("convert_accepted_quotes", True)
        if not isinstance(convert, bool):
            raise where.error(
                "convert_accepted_quotes must be true or false", "convert_accepted_quotes"
            )
        for name, body in options.items():
            if name not in ENTITIES:
                raise where.error(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}", name)
            if not isinstance(body, Mapping):
                raise where.error(f"[{name}] must be a table", name)
            entities[name] = _entity_rules(name, body, defaults[name], where, resolvers or {})
        return cls(entities=entities, convert_accepted_quotes=convert)


class _Locator:
    """Finds the line of a key in the TOML text, for error messages."""

    def __init__(self, text: str, path: str) -> None:
        self.lines = text.splitlines()
        self.path = path

    def line_of(self, key: str) -> int | None:
        """The line of the key's last part, else of its nearest parent that is there."""
        parts = key.split(".")
        while parts:
            pattern = re.compile(rf"(^|[\s\[.{{,]){re.escape(parts[-1])}\s*[=\].]")
            for number, line in enumerate(self.lines, start=1):
                if pattern.search(line):
                    return number
            parts.pop()
        return None

    def error(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=self.line_of(key), key=key)


def _decode_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


_ENTITY_KEYS = {"create", "deletes", "default", "fields"}


def _entity_rules(
    name: str,
    body: Mapping[str, Any],
    base: EntityRules,
    where: _Locator,
    resolvers: Mapping[str, Resolver],
) -> EntityRules:
    for key in body:
        if key not in _ENTITY_KEYS:
            raise where.error(
                f"unknown key {key!r} in [{name}]; known: {', '.join(sorted(_ENTITY_KEYS))}",
                f"{name}.{key}",
            )
    create = base.create
    if "create" in body:
        values = body["create"]
        if not isinstance(values, list) or not set(values) <= {"crm->erp", "erp->crm"}:
            raise where.error(
                "create must be a list of 'crm->erp' and 'erp->crm'", f"{name}.create"
            )
        create = frozenset(values)
    deletes = _enum(DeletePolicy, body.get("deletes", base.deletes), f"{name}.deletes", where)
    default = _field_rule(body.get("default"), base.default, f"{name}.default", where, resolvers)
    fields = dict(base.fields)
    for field_name, spec in (body.get("fields") or {}).items():
        fields[field_name] = _field_rule(
            spec, base.field(field_name), f"{name}.fields.{field_name}", where, resolvers
        )
    return EntityRules(create=create, deletes=deletes, default=default, fields=fields)


def _field_rule(
    spec: Any, base: FieldRule, key: str, where: _Locator, resolvers: Mapping[str, Resolver]
) -> FieldRule:
    if spec is None:
        return base
    if not isinstance(spec, Mapping):
        raise where.error(f"{key} must be a table", key)
    unknown = set(spec) - {"direction", "policy", "owner", "resolver"}
    if unknown:
        raise where.error(
            f"unknown key {sorted(unknown)[0]!r} in {key}", f"{key}.{sorted(unknown)[0]}"
        )
    direction = _enum(Direction, spec.get("direction", base.direction), f"{key}.direction", where)
    policy = _enum(Policy, spec.get("policy", base.policy), f"{key}.policy", where)
    owner = spec.get("owner", base.owner if policy is Policy.OWNER else None)
    resolver = None
    if policy is Policy.FUNCTION:
        resolver = resolvers.get(str(spec.get("resolver")))
        if resolver is None:
            raise where.error(
                f"resolver {spec.get('resolver')!r} is not registered", f"{key}.resolver"
            )
    try:
        return FieldRule(direction, policy, owner, resolver)
    except UsageError as exc:
        raise where.error(str(exc).split(" [")[0], f"{key}.owner") from None


def _enum(kind: type[StrEnum], value: Any, key: str, where: _Locator) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise where.error(f"{value!r} is not one of {allowed}", key) from None
