"""Gather: load what planning a batch of staged groups needs, in few round trips.

Per batch: links, bases, parked fields and resolutions from the state; the
records that must be seen fresh (a delete, a first link, a re-check, a parked
conflict) from each system; and the reference translations (native <-> global)
of every record involved, with the parents a system does not hold at all. The
result is a :class:`~crmerp.sync._plan.BatchFacts` and one frozen
:class:`~crmerp.sync._plan.GroupInput` per group; the plan reads nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crmerp._errors import DataError
from crmerp.adapters import NativeRecord
from crmerp.models import ENTITY_MODELS
from crmerp.state import ConflictStatus, InboxRow, StateTx
from crmerp.sync._codec import collect_refs, project, references
from crmerp.sync._context import ENGINE_SYSTEM, RunContext, Side
from crmerp.sync._plan import (
    BatchFacts,
    GroupInput,
    References,
    SetAside,
)

__all__ = ["canonical", "feed_tells_deletes", "fetch", "gather"]


def gather(
    ctx: RunContext, entity: str, rows: Sequence[InboxRow]
) -> tuple[BatchFacts, list[GroupInput]]:
    """The facts of a batch of staged rows and its groups, ready to plan."""
    loaded = _load(ctx, entity, rows)
    groups = [_fresh(ctx, entity, group, reads) for group, reads in _fetch_all(ctx, entity, loaded)]
    facts = BatchFacts(
        scope=ctx.scope,
        entity=entity,
        model=ENTITY_MODELS[entity],
        rules=ctx.rules.entity(entity),
        sides=ctx.sides(),
        refs=_references(ctx, entity, groups),
        dry=ctx.dry,
        convert_quotes=ctx.rules.convert_accepted_quotes,
    )
    return facts, groups


def _load(ctx: RunContext, entity: str, rows: Sequence[InboxRow]) -> list[GroupInput]:
    by_gid: dict[str, dict[str, InboxRow]] = {}
    for row in rows:  # pending rows only: held ones are not read here
        assert row.global_id is not None
        by_gid.setdefault(row.global_id, {})[row.system] = row
    gids = list(by_gid)
    if not gids:
        return []
    with ctx.tx() as tx:
        links = tx.links.by_global(entity, gids)
        bases = tx.bases.get(entity, gids)
        open_fields = tx.reviews.open_fields(entity, gids)
        resolutions = _resolutions(tx, entity, gids)
    groups = []
    for gid, staged in by_gid.items():
        known = dict(links.get(gid, {}))
        for system, row in staged.items():
            # A record staged from a side is that side's record, linked or not
            # yet (a new record, or one the matcher paired with the other side).
            if system != ENGINE_SYSTEM and not row.deleted:
                known.setdefault(system, (row.native_id, None))
        base = json.loads(bases[gid]) if gid in bases else None
        groups.append(
            GroupInput(
                gid,
                staged,
                known,
                base,
                open_fields=open_fields.get(gid, {}),
                resolutions=resolutions.get(gid, {}),
            )
        )
    return groups


def _needs_fresh(group: GroupInput) -> bool:
    return (
        any(row.deleted for row in group.rows.values())
        or group.base is None
        or ENGINE_SYSTEM in group.rows
        or bool(group.open_fields)
        or bool(group.resolutions)
    )


def _fetch_all(
    ctx: RunContext, entity: str, groups: list[GroupInput]
) -> list[tuple[GroupInput, dict[str, NativeRecord | None]]]:
    """Each group with the records read fresh for it, by system (``None``: gone)."""
    reads: dict[str, dict[str, NativeRecord | None]] = {g.gid: {} for g in groups}
    for side in ctx.sides():
        wanted = {
            group.links[side.system][0]: group
            for group in groups
            if side.system in group.links
            and side.system not in group.rows
            and _needs_fresh(group)
            and side.reads(entity)
        }
        if not wanted:
            continue
        found = {r.id: r for r in fetch(ctx, side, entity, list(wanted))}
        for native_id, group in wanted.items():
            reads[group.gid][side.system] = found.get(native_id)
    return [(group, reads[group.gid]) for group in groups]


def _fresh(
    ctx: RunContext, entity: str, group: GroupInput, reads: Mapping[str, NativeRecord | None]
) -> GroupInput:
    if not reads:
        return group
    fresh: dict[str, Mapping[str, Any] | None] = {}
    versions: dict[str, str | None] = {}
    gone: list[tuple[str, str]] = []
    unseen: list[tuple[str, str]] = []
    unreadable = None
    for system, record in reads.items():
        side = ctx.side_of(system)
        assert side is not None
        native_id = group.links[system][0]
        if record is None and feed_tells_deletes(side):
            # A feed that reports deletes will report this one too: a read that
            # misses a linked record may come from a replica behind a write.
            unseen.append((system, native_id))
            continue
        if record is None:
            fresh[system] = None
            gone.append((system, native_id))
            continue
        versions[system] = record.version
        try:
            fresh[system] = canonical(side, entity, record)
        except DataError as exc:
            # ``system`` holds the record, but in a form that does not validate:
            # merging past it would overwrite whatever a user did there, so it is
            # set aside and the group waits for it (see ``retry_quarantined``).
            unreadable = SetAside(system, native_id, exc.field or "", f"{system}: {exc}")
    return GroupInput(
        group.gid,
        group.rows,
        group.links,
        group.base,
        fresh=fresh,
        gone=tuple(gone),
        unseen=tuple(unseen),
        versions=versions,
        unreadable=unreadable,
        open_fields=group.open_fields,
        resolutions=group.resolutions,
    )


def feed_tells_deletes(side: Side) -> bool:
    """True when ``side``'s change feed reports deletes: a linked record a read
    does not return is not taken for deleted (the read may lag behind a write);
    the feed's delete decides."""
    return side.caps.reports_deletes and side.caps.change_feed


def fetch(ctx: RunContext, side: Side, entity: str, ids: list[str]) -> list[NativeRecord]:
    """The records with ``ids`` as ``side`` holds them now, through the retry policy."""

    def call() -> list[NativeRecord]:
        return side.adapter.fetch(entity, ids)

    result: list[NativeRecord] = ctx.call(f"fetch {side.system} {entity}", call)
    return result


def canonical(side: Side, entity: str, record: NativeRecord) -> dict[str, Any]:
    """The canonical JSON form of the fields ``side`` carries, validated once."""
    model = side.adapter.to_canonical(entity, record)
    return project(model, side.carried(entity))


def _references(ctx: RunContext, entity: str, groups: list[GroupInput]) -> References:
    """Translations native -> global and global -> native of every reference the
    batch holds, and the parents a side does not have at all."""
    if not references(entity):
        return References()  # nothing to translate (customers, products): no record to parse
    inbound_wanted: dict[tuple[str, str], set[str]] = {}
    for group in groups:
        for system, data in _incoming(ctx, group):
            for ref_entity, value in collect_refs(entity, data):
                inbound_wanted.setdefault((ref_entity, system), set()).add(value)
    inbound: dict[tuple[str, str, str], str] = {}
    outbound: dict[tuple[str, str, str], str] = {}
    with ctx.tx() as tx:
        for (ref_entity, system), natives in inbound_wanted.items():
            found = tx.links.by_native(ref_entity, system, sorted(natives))
            for native, (gid, _h) in found.items():
                inbound[(ref_entity, system, native)] = gid
        outbound_wanted: dict[str, set[str]] = {}
        for group in groups:
            derived = [
                json.loads(r.data)
                for s, r in group.rows.items()
                if s == ENGINE_SYSTEM and r.data is not None
            ]
            for data in [group.base or {}, *derived]:
                for ref_entity, value in collect_refs(entity, data):
                    outbound_wanted.setdefault(ref_entity, set()).add(value)
        for key, gid in inbound.items():
            outbound_wanted.setdefault(key[0], set()).add(gid)
        for ref_entity, gids in outbound_wanted.items():
            for gid, systems in tx.links.by_global(ref_entity, sorted(gids)).items():
                for system, (native, _h) in systems.items():
                    outbound[(ref_entity, system, gid)] = native
    missing = {
        key: natives - {n for (e, s, n) in inbound if (e, s) == key}
        for key, natives in inbound_wanted.items()
    }
    return References(inbound, outbound, _absent(ctx, missing))


def _incoming(ctx: RunContext, group: GroupInput) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for system, row in group.rows.items():
        if row.data is not None and not row.deleted and system != ENGINE_SYSTEM:
            out.append((system, json.loads(row.data)))
    for side in ctx.sides():
        data = group.fresh.get(side.system)
        if data is not None:
            out.append((side.system, data))
    return out


def _absent(
    ctx: RunContext, missing: Mapping[tuple[str, str], set[str]]
) -> frozenset[tuple[str, str, str]]:
    """Parents the engine has no link for that their own system does not hold
    either: a child of one is set aside, the child of one still to sync waits."""
    absent: set[tuple[str, str, str]] = set()
    for (ref_entity, system), natives in missing.items():
        side = ctx.side_of(system)
        if not natives or side is None or not side.reads(ref_entity):
            continue
        try:
            found = side.adapter.fetch(ref_entity, sorted(natives))
        except Exception:  # cannot tell: waiting is the safe choice
            continue
        live = {r.id for r in found if not r.deleted}
        absent.update((ref_entity, system, n) for n in natives if n not in live)
    return frozenset(absent)


def _resolutions(
    tx: StateTx, entity: str, gids: Sequence[str]
) -> dict[str, dict[str, tuple[dict[str, Any], int]]]:
    wanted = set(gids)
    found: dict[str, dict[str, tuple[dict[str, Any], int]]] = {}
    for conflict in tx.reviews.conflicts(ConflictStatus.RESOLVED):
        if conflict.kind == "field" and conflict.entity == entity and conflict.global_id in wanted:
            resolution = conflict.resolution or {}
            found.setdefault(conflict.global_id, {})[conflict.field] = (resolution, conflict.id)
    return found
