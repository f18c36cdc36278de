"""Find adapter classes by name: registered in code or through entry points.

Third-party packages declare adapters in the ``crmerp.adapters`` entry-point group::

    [project.entry-points."crmerp.adapters"]
    salesforce = "crmerp_salesforce:SalesforceAdapter"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from crmerp._errors import UsageError
from crmerp.adapters._base import Adapter

__all__ = ["adapter_class", "available_adapters", "register_adapter"]

ENTRY_POINT_GROUP = "crmerp.adapters"
_registered: dict[str, type[Adapter]] = {}


def register_adapter(name: str, cls: type[Adapter]) -> None:
    """Make ``cls`` findable as ``name``; a name taken by another class is an error."""
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UsageError(f"{cls!r} is not an Adapter subclass", code="registry-type")
    existing = _registered.get(name)
    if existing is not None and existing is not cls:
        raise UsageError(
            f"adapter name {name!r} is taken by {existing.__qualname__}", code="registry-taken"
        )
    _registered[name] = cls


def available_adapters() -> list[str]:
    """Names of every adapter registered in code or declared by an entry point."""
    names = set(_registered)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def adapter_class(name: str) -> type[Adapter]:
    """The adapter class called ``name``; code registrations win over entry points."""
    if name in _registered:
        return _registered[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            raise UsageError(
                f"entry point {name!r} -> {ep.value} is not an Adapter", code="registry-type"
            )
        return cls
    raise UsageError(
        f"no adapter named {name!r}; available: {', '.join(available_adapters()) or 'none'}",
        code="registry-unknown",
    )
