"""Declarative field maps between a system's native payload and a canonical model.

A mapping is a list of fields; each knows where its value lives in the native
payload and how to translate it both ways. Most of an adapter is its mappings::

    CUSTOMER = RecordMapping(
        Customer,
        [
            field("name", "Name"),
            field("emails", "Email", to_canonical=as_list, to_native=first_or_none),
            money("credit_limit", amount="CreditLimit", currency="CurrencyIsoCode"),
            value_map("kind", "Type", {"Company": "company", "Person": "person"}),
        ],
        omits={"tax_id", "contacts"},
    )

Canonical fields a system does not hold must be listed in ``omits``, so none is
dropped by accident; native keys no field reads are reported by
:meth:`RecordMapping.unknown_keys` (or refused with ``strict=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs
from dateutil import parser as dateparser
from pydantic import BaseModel, ValidationError

from crmerp._errors import DataError, MappingError, UsageError
from crmerp.adapters._compiled import compile_dump, compile_load
from crmerp.models import CanonicalModel, Money
from crmerp.models._invalid import invalid_record

__all__ = [
    "EntityMapping",
    "FieldSpec",
    "RecordMapping",
    "as_list",
    "day",
    "each",
    "field",
    "first_or_none",
    "money",
    "nested",
    "parse_date",
    "parse_datetime",
    "timestamp",
    "value_map",
]

M = TypeVar("M", bound=BaseModel)
_ABSENT: Any = object()


def _get(payload: Mapping[str, Any], path: tuple[str, ...], field: str | None = None) -> Any:
    if len(path) == 1 and type(payload) is dict:
        return payload.get(path[0], _ABSENT)
    value: Any = payload
    for depth, key in enumerate(path):
        if value is None:
            return _ABSENT
        if not isinstance(value, Mapping):
            # A native object replaced by a scalar would otherwise read as "absent"
            # and its content be silently lost.
            where = ".".join(path[:depth])
            raise MappingError(f"{where} is not an object", field=field, value=value)
        if key not in value:
            return _ABSENT
        value = value[key]
    return value


def _put(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
        payload[path[0]] = value
        return
    for key in path[:-1]:
        payload = payload.setdefault(key, {})
    payload[path[-1]] = value


def _identity(value: Any) -> Any:
    return value


class FieldSpec(Protocol):
    """One mapped field: reads from and writes to a native payload."""

    @property
    def canonical(self) -> str:
        """The canonical field this spec fills."""
        ...

    @property
    def sources(self) -> frozenset[str]:
        """Top-level native keys this field reads."""
        ...

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        """Put this field's canonical value into ``out``."""
        ...

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        """Put this field's native value into ``payload``."""
        ...


@attrs.frozen
class _Field:
    canonical: str
    path: tuple[str, ...]
    to_canonical: Callable[[Any], Any] = _identity
    to_native: Callable[[Any], Any] = _identity
    default: Any = _ABSENT

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({self.path[0]})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        raw = _get(payload, self.path, self.canonical)
        if raw is _ABSENT:
            if self.default is _ABSENT:
                return
            raw = self.default
        try:
            out[self.canonical] = self.to_canonical(raw)
        except DataError as exc:
            raise MappingError(
                f"{'.'.join(self.path)}: {exc.reason}", field=self.canonical, value=raw
            ) from None

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical in record:
            _put(payload, self.path, self.to_native(record[self.canonical]))


def _path(native: str | None, canonical: str) -> tuple[str, ...]:
    return tuple((native or canonical).split("."))


def field(
    canonical: str,
    native: str | None = None,
    *,
    to_canonical: Callable[[Any], Any] = _identity,
    to_native: Callable[[Any], Any] = _identity,
    default: Any = _ABSENT,
) -> FieldSpec:
    """Map ``canonical`` to the native path ``native`` (dotted for nesting).

    ``default`` is used when the native payload lacks the path.
    """
    return _Field(canonical, _path(native, canonical), to_canonical, to_native, default)


def value_map(
    canonical: str,
    native: str | None,
    codes: Mapping[Any, Any],
    *,
    default: Any = _ABSENT,
    write_codes: Mapping[Any, Any] | None = None,
) -> FieldSpec:
    """Translate codes: ``codes`` maps native code -> canonical value.

    Writing uses the inverse (or ``write_codes`` where several native codes map to
    one canonical value). An unknown code is a :class:`~crmerp.MappingError`.
    """
    inverse = dict(write_codes) if write_codes else {v: k for k, v in codes.items()}

    def read(code: Any) -> Any:
        try:
            known = code in codes
        except TypeError:  # an unhashable native value (a list, a dict) is no code
            known = False
        if not known:
            listed = ", ".join(sorted(map(repr, codes)))
            raise DataError(f"unknown code {code!r}; known: {listed}")
        return codes[code]

    def write(value: Any) -> Any:
        key = getattr(value, "value", value)
        if key not in inverse:
            raise DataError(f"no native code for {key!r}")
        return inverse[key]

    return _Field(canonical, _path(native, canonical), read, write, default)


@attrs.frozen
class _MoneyField:
    canonical: str
    amount: tuple[str, ...]
    currency: tuple[str, ...] | None
    fixed_currency: str | None
    optional: bool

    @property
    def sources(self) -> frozenset[str]:
        roots = {self.amount[0]}
        if self.currency:
            roots.add(self.currency[0])
        return frozenset(roots)

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        amount = _get(payload, self.amount, self.canonical)
        currency = (
            _get(payload, self.currency, self.canonical) if self.currency else self.fixed_currency
        )
        if amount is _ABSENT or amount is None:
            if self.optional:
                out[self.canonical] = None
                return
            raise MappingError(f"{'.'.join(self.amount)} is missing", field=self.canonical)
        try:
            out[self.canonical] = Money(amount, currency)  # type: ignore[arg-type]
        except DataError as exc:
            raise MappingError(
                f"{'.'.join(self.amount)}: {exc.reason}", field=self.canonical, value=amount
            ) from None

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        value = record[self.canonical]
        if value is None:
            _put(payload, self.amount, None)
            return
        money_value = value if isinstance(value, Money) else Money(**value)
        _put(payload, self.amount, str(money_value.amount))
        if self.currency:
            _put(payload, self.currency, money_value.currency)


def money(
    canonical: str,
    *,
    amount: str,
    currency: str | None = None,
    fixed_currency: str | None = None,
    optional: bool = True,
) -> FieldSpec:
    """Money from an amount field and a currency field (or a fixed currency).

    Amounts are written as decimal strings; a float amount is refused on read.
    """
    if (currency is None) == (fixed_currency is None):
        raise UsageError(
            "money() needs exactly one of currency= or fixed_currency=", code="mapping-money"
        )
    return _MoneyField(
        canonical,
        tuple(amount.split(".")),
        tuple(currency.split(".")) if currency else None,
        fixed_currency,
        optional,
    )


def parse_datetime(value: Any) -> datetime | None:
    """Parse an ISO or free-form datetime with dateutil; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            # The standard library reads ISO 8601 as systems send it (offsets in any
            # form, fractions) a magnitude faster; dateutil takes the rest.
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _parse_loosely(value)
    else:
        raise DataError(f"{type(value).__name__} is not a date and time", value=value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_loosely(value: str) -> datetime:
    try:
        return dateparser.isoparse(value)
    except ValueError:
        try:
            return dateparser.parse(value)
        except (ValueError, OverflowError):
            raise DataError(f"{value!r} is not a date and time", value=value) from None


def parse_date(value: Any) -> date | None:
    """Parse a date with dateutil; datetimes are cut to their date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise DataError(f"{type(value).__name__} is not a date", value=value)
    try:
        return dateparser.isoparse(value).date()
    except ValueError:
        raise DataError(f"{value!r} is not a date", value=value) from None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def timestamp(canonical: str, native: str | None = None) -> FieldSpec:
    """A datetime field; naive native values are taken as UTC, written as ISO 8601."""
    return _Field(canonical, _path(native, canonical), parse_datetime, _iso)


def day(canonical: str, native: str | None = None) -> FieldSpec:
    """A date field, written as ISO 8601."""
    return _Field(canonical, _path(native, canonical), parse_date, _iso)


def as_list(value: Any) -> list[Any]:
    """A single value or ``None`` as a list (for systems with one email field)."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def first_or_none(values: Sequence[Any]) -> Any:
    """The first item of a list, or ``None``."""
    return values[0] if values else None


class RecordMapping(Generic[M]):
    """The map between one native record shape and one pydantic model.

    ``omits`` names canonical fields this system does not hold. ``ignore`` names
    native keys that are known but not mapped (ids, audit columns).
    """

    def __init__(
        self,
        model: type[M],
        fields: Iterable[FieldSpec],
        *,
        omits: Iterable[str] = (),
        ignore: Iterable[str] = (),
        strict: bool = False,
    ) -> None:
        self.model = model
        self.fields: tuple[FieldSpec, ...] = tuple(fields)
        self.omits = frozenset(omits)
        self.ignore = frozenset(ignore)
        self.strict = strict
        self.carried: frozenset[str] = frozenset(f.canonical for f in self.fields)
        self._known = frozenset().union(*(f.sources for f in self.fields)) | self.ignore
        self._check_coverage()
        self._load = compile_load(self.fields, _Field, _ABSENT, _identity, self._load_each)
        self._dump = compile_dump(self.fields, _Field, _identity)

    def _check_coverage(self) -> None:
        names = set(self.model.model_fields)
        unknown = (self.carried | self.omits) - names
        if unknown:
            raise UsageError(
                f"{self.model.__name__} mapping names unknown fields {sorted(unknown)}",
                code="mapping-unknown-field",
            )
        silent = names - self.carried - self.omits - {"id", "updated_at"}
        if silent:
            raise UsageError(
                f"{self.model.__name__} mapping neither maps nor omits {sorted(silent)}",
                code="mapping-uncovered-field",
            )

    def unknown_keys(self, payload: Mapping[str, Any]) -> set[str]:
        """Native keys no field reads and ``ignore`` does not list."""
        return set(payload) - self._known

    def load(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical field values of ``payload`` as a dict (not yet validated)."""
        if self.strict and (unknown := self.unknown_keys(payload)):
            raise MappingError(f"unknown native fields {sorted(unknown)}", field=sorted(unknown)[0])
        return self._load(payload)

    def _load_each(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`load` field by field, for payloads that are not plain dicts."""
        out: dict[str, Any] = {}
        for spec in self.fields:
            spec.load(payload, out)
        return out

    def dump(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The native payload for canonical field values ``record``."""
        return self._dump(record)

    def _dump_each(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`dump` field by field, as the compiled function does it."""
        payload: dict[str, Any] = {}
        for spec in self.fields:
            try:
                spec.dump(record, payload)
            except DataError as exc:
                raise MappingError(
                    exc.reason, field=spec.canonical, value=record.get(spec.canonical)
                ) from None
        return payload


class EntityMapping(RecordMapping[CanonicalModel]):
    """A record mapping for a whole canonical entity, with validation and context.

    ``round_trips=True`` declares that reading back what this mapping writes gives
    the same canonical values for every field it carries (no field is narrowed,
    merged or dropped on the way). The engine then takes the record it writes as
    the record it will read back, instead of mapping it back to check; a mapping
    that keeps one phone of several, say, must leave it false.
    :func:`crmerp.testing.conformance.check_adapter` verifies the claim.
    """

    def __init__(
        self,
        model: type[CanonicalModel],
        fields: Iterable[FieldSpec],
        *,
        omits: Iterable[str] = (),
        ignore: Iterable[str] = (),
        strict: bool = False,
        round_trips: bool = False,
    ) -> None:
        super().__init__(model, fields, omits=omits, ignore=ignore, strict=strict)
        self.round_trips = round_trips

    def to_canonical(
        self, payload: Mapping[str, Any], *, system: str, native_id: str, **extra: Any
    ) -> CanonicalModel:
        """Validate ``payload`` into the model; errors carry system, entity and id."""
        entity = getattr(self.model, "entity", self.model.__name__)
        try:
            data = self.load(payload)
            data.update(extra)
            return self.model.model_validate(data)
        except ValidationError as exc:
            raise invalid_record(exc, entity, system=system, native_id=native_id) from None
        except DataError as exc:
            exc.system, exc.native_id, exc.entity = system, native_id, entity
            exc.args = (exc._render(exc.reason),)
            raise

    def to_native(self, record: CanonicalModel | Mapping[str, Any]) -> dict[str, Any]:
        """The native payload for a canonical record (model or its python dump)."""
        data = record.model_dump() if isinstance(record, BaseModel) else record
        return self.dump(data)


@attrs.frozen
class _Nested:
    canonical: str
    path: tuple[str, ...]
    mapping: RecordMapping[Any]
    many: bool

    @property
    def sources(self) -> frozenset[str]:
        return frozenset({self.path[0]})

    def load(self, payload: Mapping[str, Any], out: dict[str, Any]) -> None:
        raw = _get(payload, self.path, self.canonical)
        if raw is _ABSENT or raw is None:
            if self.many:
                out[self.canonical] = []
            return
        if self.many:
            if not isinstance(raw, list | tuple):
                raise MappingError(
                    f"{'.'.join(self.path)} is not a list", field=self.canonical, value=raw
                )
            out[self.canonical] = [self._one(item, index) for index, item in enumerate(raw)]
        else:
            out[self.canonical] = self._one(raw, None)

    def _one(self, item: Any, index: int | None) -> dict[str, Any]:
        where = self.canonical if index is None else f"{self.canonical}.{index}"
        if not isinstance(item, Mapping):
            raise MappingError(
                f"expected an object, got {type(item).__name__}", field=where, value=item
            )
        try:
            return self.mapping.load(item)
        except DataError as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            exc.args = (exc._render(exc.reason),)
            raise

    def dump(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if self.canonical not in record:
            return
        value = record[self.canonical]
        if value is None:
            _put(payload, self.path, None)
        elif self.many:
            _put(payload, self.path, [self.mapping.dump(_plain(v)) for v in value])
        else:
            _put(payload, self.path, self.mapping.dump(_plain(value)))


def _plain(value: Any) -> Mapping[str, Any]:
    return value.model_dump() if isinstance(value, BaseModel) else value


def nested(canonical: str, native: str | None, mapping: RecordMapping[Any]) -> FieldSpec:
    """A sub-object (an address) mapped by its own record mapping."""
    return _Nested(canonical, _path(native, canonical), mapping, many=False)


def each(canonical: str, native: str | None, mapping: RecordMapping[Any]) -> FieldSpec:
    """A list of sub-objects (lines, addresses) each mapped by ``mapping``."""
    return _Nested(canonical, _path(native, canonical), mapping, many=True)
