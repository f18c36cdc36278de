"""Turn pydantic's ``ValidationError`` into crmerp's ``InvalidRecord``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from crmerp._errors import DataError, InvalidRecord

__all__ = ["invalid_record"]


def invalid_record(exc: ValidationError, entity: str, **where: Any) -> DataError:
    """A ``DataError`` naming the entity and the first failing field and value.

    When the one problem is a crmerp ``DataError`` raised by a validator (a totals
    mismatch, an illegal currency), that error itself is returned, with the entity
    and ``where`` filled in, so callers can catch the precise kind.
    """
    details = exc.errors(include_url=False)
    cause = details[0].get("ctx", {}).get("error") if len(details) == 1 else None
    if isinstance(cause, DataError):
        return _locate(cause, entity, details[0]["loc"], where)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "value": e.get("input")}
        for e in details
    ]
    first = errors[0] if errors else {"field": None, "value": None, "message": str(exc)}
    summary = "; ".join(f"{e['field'] or '<record>'}: {e['message']}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return InvalidRecord(
        f"invalid {entity}: {summary}{more}",
        errors=errors,
        entity=entity,
        field=first["field"] or None,
        value=first["value"],
        **where,
    )


def _locate(
    error: DataError, entity: str, loc: tuple[Any, ...], where: dict[str, Any]
) -> DataError:
    path = ".".join(str(p) for p in loc)
    if path and (error.field is None or not path.endswith(error.field)):
        error.field = f"{path}.{error.field}" if error.field else path
    elif path:
        error.field = path
    error.entity = error.entity or entity
    error.system = where.get("system", error.system)
    error.native_id = where.get("native_id", error.native_id)
    error.args = (error._render(error.reason),)
    return error
