"""A record mapping's field list compiled into one load and one dump function.

Interpreting the list costs a method call, a path walk and a few attribute
lookups per field and record. The compiled functions read and write the plain
fields (one native key, the common case) inline, with the same results and
errors as the fields' own ``load`` and ``dump``, and call any other spec (money,
nested records, an integrator's own) as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crmerp._errors import DataError, MappingError

__all__ = ["compile_dump", "compile_load"]

Loader = Callable[[Mapping[str, Any]], dict[str, Any]]
Dumper = Callable[[Mapping[str, Any]], dict[str, Any]]


def _plain(spec: Any, field_type: type) -> bool:
    """True for a one-key field (``field_type``, the stock field, with a path of one key)."""
    return type(spec) is field_type and len(getattr(spec, "path", ())) == 1


def _load_failed(spec: Any, exc: DataError, raw: Any) -> MappingError:
    return MappingError(f"{'.'.join(spec.path)}: {exc.reason}", field=spec.canonical, value=raw)


def _dump_failed(spec: Any, exc: DataError, record: Mapping[str, Any]) -> MappingError:
    return MappingError(exc.reason, field=spec.canonical, value=record.get(spec.canonical))


def compile_load(
    fields: Sequence[Any], field_type: type, absent: Any, identity: Any, generic: Loader
) -> Loader:
    """``payload -> canonical values`` for ``fields``; ``generic`` takes payloads that
    are not plain dicts (the compiled code reads keys with ``dict.get``).

    ``field_type`` is the stock field class (read inline when its path is one key),
    ``absent`` its marker of a missing value, ``identity`` its no-op transform.
    """
    env: dict[str, Any] = {
        "ABSENT": absent,
        "DataError": DataError,
        "failed": _load_failed,
        "generic": generic,
        "dict": dict,
        "type": type,
    }
    lines = [
        "def load(payload):",
        "    if type(payload) is not dict:",
        "        return generic(payload)",
        "    out = {}",
    ]
    for index, spec in enumerate(fields):
        env[f"spec{index}"] = spec
        if not _plain(spec, field_type):
            lines.append(f"    spec{index}.load(payload, out)")
            continue
        key, name = spec.path[0], spec.canonical
        lines.append(f"    raw = payload.get({key!r}, ABSENT)")
        if spec.default is absent:
            lines.append("    if raw is not ABSENT:")
        else:
            env[f"default{index}"] = spec.default
            lines.append("    if raw is ABSENT:")
            lines.append(f"        raw = default{index}")
            lines.append("    if True:")
        if spec.to_canonical is identity:
            lines.append(f"        out[{name!r}] = raw")
        else:
            env[f"read{index}"] = spec.to_canonical
            _guarded(lines, "        ", [f"out[{name!r}] = read{index}(raw)"], index, "raw")
    lines.append("    return out")
    loader: Loader = _defined(lines, env, "load")
    return loader


def compile_dump(fields: Sequence[Any], field_type: type, identity: Any) -> Dumper:
    """``canonical values -> native payload`` for ``fields`` (see :func:`compile_load`)."""
    env: dict[str, Any] = {"DataError": DataError, "failed": _dump_failed}
    lines = ["def dump(record):", "    payload = {}"]
    for index, spec in enumerate(fields):
        env[f"spec{index}"] = spec
        if not _plain(spec, field_type):
            body = [f"spec{index}.dump(record, payload)"]
        else:
            key, name = spec.path[0], spec.canonical
            value = f"record[{name!r}]"
            if spec.to_native is not identity:
                env[f"write{index}"] = spec.to_native
                value = f"write{index}({value})"
            body = [f"if {name!r} in record:", f"    payload[{key!r}] = {value}"]
        _guarded(lines, "    ", body, index, "record")
    lines.append("    return payload")
    dumper: Dumper = _defined(lines, env, "dump")
    return dumper


def _guarded(lines: list[str], pad: str, body: list[str], index: int, value: str) -> None:
    """Append ``body`` at ``pad``, a DataError in it reported as field ``index``'s."""
    lines.append(f"{pad}try:")
    lines.extend(f"{pad}    {line}" for line in body)
    lines.append(f"{pad}except DataError as exc:")
    lines.append(f"{pad}    raise failed(spec{index}, exc, {value}) from None")


def _defined(lines: list[str], env: dict[str, Any], name: str) -> Any:
    """The function ``name`` that ``lines`` define, run in ``env``."""
    exec("\n".join(lines), env)  # code built here from field names only
    return env[name]
