"""Canonical records as plain JSON dicts: projection, hashing, reference rewriting."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from crmerp.models import ENTITY_MODELS, CanonicalModel, Reference

__all__ = [
    "collect_refs",
    "deterministic_id",
    "dumps",
    "fingerprint",
    "project",
    "rewrite_refs",
]

_NAMESPACE = uuid.UUID("6f1c1b52-3d0c-4c9a-9a57-0c6f0e1f4a11")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_SKIP = frozenset({"id", "updated_at"})


def deterministic_id(scope: str, entity: str, system: str, instance: str, native_id: str) -> str:
    """The global id of a record first seen on ``system`` at ``instance``: the same on
    every run, so a re-read after a crash or a restored backup finds the same id (and
    reference), while the same native id on another instance of the system (another
    ERP database) gets another one.

    It is ``uuid.uuid5`` of the parts, written without building the UUID object (a
    third of the cost; a test holds the two equal). An empty ``instance`` gives the
    id of the four parts without it, as releases before instances computed it: ids
    derived from a global id (an order from its quote) keep that form, as do the
    records an older release linked, which are never recomputed.
    """
    if instance:
        name = f"{scope}\x1f{entity}\x1f{system}\x1f{instance}\x1f{native_id}".encode()
    else:
        name = f"{scope}\x1f{entity}\x1f{system}\x1f{native_id}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def project(model: CanonicalModel, carried: frozenset[str]) -> dict[str, Any]:
    """The JSON form of the fields a system carries: no id, no ``updated_at``, and no
    derived field (totals follow from the lines, so only the lines are merged)."""
    return model.model_dump(mode="json", include=_projected(type(model), carried))


@functools.lru_cache(maxsize=256)
def _projected(model: type[CanonicalModel], carried: frozenset[str]) -> set[str]:
    return set(carried - _SKIP - model.derived_fields)


def dumps(data: Mapping[str, Any]) -> str:
    """Canonical JSON text: sorted keys, no spaces; equal data gives equal text.

    orjson writes it (several times faster); what orjson refuses (integers beyond
    64 bits, lone surrogates) is written by the standard library in the same form.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(text: str) -> str:
    """A short content hash of canonical JSON text."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@functools.cache
def references(entity: str) -> tuple[Reference, ...]:
    """Reference fields of an entity's model (looked up once: reading a class
    attribute through pydantic's model metaclass costs about 15 us a call)."""
    model = ENTITY_MODELS.get(entity)
    return model.references if model is not None else ()


def collect_refs(entity: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(entity, id)`` of every reference in ``data``."""
    found: list[tuple[str, str]] = []
    for ref in references(entity):  # _walk only reads through the copy

        def note(value: str, target: str = ref.entity) -> str:
            found.append((target, value))
            return value

        _walk(data, ref.path, note)
    return found


def rewrite_refs(
    entity: str, data: Mapping[str, Any], translate: Callable[[str, str], str | None]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A copy of ``data`` with references translated; also the ones that could not be."""
    missing: list[tuple[str, str]] = []
    refs = references(entity)
    if not refs:
        return dict(data), missing
    out = _copy(data)
    for ref in refs:

        def swap(value: str, target: str = ref.entity) -> str:
            new = translate(target, value)
            if new is None:
                missing.append((target, value))
                return value
            return new

        _walk(out, ref.path, swap)
    return out, missing


def _copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _walk(data: Any, path: tuple[str, ...], fn: Callable[[str], Any]) -> None:
    if isinstance(data, list):
        for item in data:
            _walk(item, path, fn)
        return
    if not isinstance(data, dict) or path[0] not in data:
        return
    if len(path) == 1:
        value = data[path[0]]
        if isinstance(value, str):
            data[path[0]] = fn(value)
        return
    _walk(data[path[0]], path[1:], fn)
