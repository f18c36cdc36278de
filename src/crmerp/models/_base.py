"""The base every canonical entity shares: a global id and an aware ``updated_at``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from crmerp._errors import InvalidRecord
from crmerp.models._invalid import invalid_record

__all__ = ["CanonicalModel", "GlobalId", "Reference", "UtcDatetime", "new_global_id", "utc_now"]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, converted to UTC. Naive datetimes are refused."""

GlobalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""The id crmerp gives one business entity across every system."""


def new_global_id() -> str:
    """A fresh random global id."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Reference(BaseModel):
    """Where a model field points at another entity: ``path`` of field names."""

    model_config = ConfigDict(frozen=True)

    path: tuple[str, ...]
    entity: str


class CanonicalModel(BaseModel):
    """Base of every canonical entity.

    ``id`` is the global id; references to other entities hold their global ids,
    never one system's id. ``references`` on each class lists those fields so the
    engine can translate them to and from each system's ids.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=True,
        validate_default=False,
    )

    entity: ClassVar[str] = ""
    references: ClassVar[tuple[Reference, ...]] = ()
    """Fields that hold global ids of other entities."""
    derived_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields computed from others (document totals): checked, never merged."""

    id: GlobalId = Field(default_factory=new_global_id)
    updated_at: UtcDatetime = Field(default_factory=utc_now)

    @classmethod
    def parse(cls, data: Any, **where: Any) -> Self:
        """Validate a dict (or a JSON string/bytes) into this model.

        Raises :class:`~crmerp.InvalidRecord` naming the entity, the first failing
        field and its value; ``where`` (``system``, ``native_id``) is added to it.
        """
        try:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_record(exc, cls.entity or cls.__name__, **where) from None
        except ArithmeticError as exc:  # a finite number too large to compute with
            raise InvalidRecord(
                f"invalid {cls.entity or cls.__name__}: a number is too large to compute "
                f"with ({type(exc).__name__})",
                entity=cls.entity or cls.__name__,
                **where,
            ) from None

    def referenced_ids(self) -> list[tuple[str, str]]:
        """``(entity, id)`` for every reference this record holds."""
        data = self.model_dump(include={ref.path[0] for ref in self.references})
        return [(ref.entity, value) for ref in self.references for value in _walk(data, ref.path)]


def _walk(data: Any, path: tuple[str, ...]) -> list[str]:
    if not path:
        return [data] if isinstance(data, str) else []
    if isinstance(data, list):
        return [v for item in data for v in _walk(item, path)]
    if isinstance(data, dict):
        return _walk(data.get(path[0]), path[1:])
    return []
