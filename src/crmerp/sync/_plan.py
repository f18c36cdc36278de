"""Plan: what one group of staged changes asks to be written, as values.

Pure like :mod:`crmerp.sync._merge`: from what the gather stage loaded (staged
rows, links, base, fresh reads, reference translations, parked fields) it returns
a :class:`GroupPlan` per group: writes, links seen, a new base, or a hold (wait
for a parent, or set a record aside) with its reason. It reads and writes
nothing, and raises nothing for control flow; a record that does not validate
on its way out becomes a hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import DataError
from crmerp.adapters import NativeRecord, WriteKind
from crmerp.models import CanonicalModel
from crmerp.state import InboxRow
from crmerp.sync._codec import dumps, fingerprint, project, references, rewrite_refs
from crmerp.sync._context import ENGINE_SYSTEM, Side
from crmerp.sync._derive import derive
from crmerp.sync._merge import MergeOutcome, SideView, desired_for, merge
from crmerp.sync._rules import DeletePolicy, EntityRules

__all__ = [
    "BatchFacts",
    "GroupInput",
    "GroupPlan",
    "Hold",
    "Op",
    "References",
    "SetAside",
    "plan_group",
]

_ABSENT: Any = object()

Link = tuple[str, str | None]
"""A link as the plan sees it: (native id, hash of what that side last held)."""


@attrs.frozen
class SetAside:
    """A record to quarantine: it refers to a parent its own system does not have,
    or it does not validate when read fresh."""

    system: str
    native_id: str
    field: str
    reason: str


@attrs.frozen
class Hold:
    """A group that cannot be settled now: it waits (``note`` says for what), or a
    record of it is set aside and the rest waits for that record.

    ``failed`` holds keep the group's changes out of later passes until the record
    they depend on is retried from quarantine; others are tried at every pass.
    """

    note: str
    set_aside: SetAside | None = None
    failed: bool = False


@attrs.frozen
class Op:
    """One write the plan asks for.

    ``seen_hash`` is the hash of what the side will hold once written (the echo
    to expect); ``expect`` the hash of what it held when planned; ``own`` the
    hash its link holds (what the engine last wrote or saw there); ``version``
    the version of the record the write is based on (for conditional writes).
    """

    side: Side
    kind: WriteKind
    native_id: str | None
    payload: Mapping[str, Any] | None
    seen_hash: str | None
    changes: Mapping[str, tuple[Any, Any]]
    expect: str | None = None
    own: str | None = None
    version: str | None = None


@attrs.frozen
class Seen:
    """A side already holds the agreed record: only its link's hash moves."""

    system: str
    native_id: str
    seen_hash: str


@attrs.frozen
class GroupPlan:
    """What one group (one global id) needs: the writes, the links seen, the new
    base, settled conflicts, derived records, or a hold with its reason.

    ``new_base`` ``None`` keeps the base as it is; ``drop_base`` removes it;
    ``first_seen`` says the group had no base (the record is new to the engine).
    """

    gid: str
    ops: tuple[Op, ...] = ()
    new_base: Mapping[str, Any] | None = None
    drop_base: bool = False
    drop_links: tuple[tuple[str, str], ...] = ()
    seen: tuple[Seen, ...] = ()
    outcome: MergeOutcome | None = None
    settle: tuple[int, ...] = ()
    derived: tuple[InboxRow, ...] = ()
    first_seen: bool = False
    hold: Hold | None = None

    @property
    def done(self) -> bool:
        """True when the group can be written and committed now."""
        return self.hold is None


@attrs.frozen
class References:
    """Reference translations loaded for a batch.

    ``inbound`` maps (entity, system, native id) to a global id, ``outbound``
    (entity, system, global id) to the native id, and ``absent`` holds the
    parents a system does not have at all (their children are set aside).
    """

    inbound: Mapping[tuple[str, str, str], str] = attrs.Factory(dict)
    outbound: Mapping[tuple[str, str, str], str] = attrs.Factory(dict)
    absent: frozenset[tuple[str, str, str]] = frozenset()


@attrs.frozen
class GroupInput:
    """One group as loaded: staged rows by system, links, base, fresh reads.

    ``fresh`` holds, per system, the record as read just now (``None``: it is
    gone); a system missing from it was not read. ``gone`` lists links whose
    record was not found; ``unseen`` links whose record was not found on a side
    whose change feed reports deletes (so its feed, not a read that may lag
    behind a write, says whether it is gone); ``versions`` the versions of the
    records read fresh; ``unreadable`` a record that did not validate.
    """

    gid: str
    rows: Mapping[str, InboxRow]
    links: Mapping[str, Link]
    base: Mapping[str, Any] | None
    fresh: Mapping[str, Mapping[str, Any] | None] = attrs.Factory(dict)
    gone: tuple[tuple[str, str], ...] = ()
    unseen: tuple[tuple[str, str], ...] = ()
    versions: Mapping[str, str | None] = attrs.Factory(dict)
    unreadable: SetAside | None = None
    open_fields: Mapping[str, int] = attrs.Factory(dict)
    resolutions: Mapping[str, tuple[Mapping[str, Any], int]] = attrs.Factory(dict)


@attrs.frozen(eq=False)
class BatchFacts:
    """What planning a batch of one entity needs beyond its groups."""

    scope: str
    entity: str
    model: type[CanonicalModel]
    rules: EntityRules
    sides: tuple[Side, Side]
    refs: References
    dry: bool
    convert_quotes: bool
    memo: dict[Any, Any] = attrs.Factory(dict)
    """A cache the merge keeps per batch (what the rules bar on first sight)."""

    @property
    def has_refs(self) -> bool:
        """True when the entity's records refer to others (lines, customers)."""
        return bool(references(self.entity))

    def side_of(self, system: str) -> Side | None:
        """The side whose adapter is ``system``."""
        for side in self.sides:
            if side.system == system:
                return side
        return None

    def other(self, side: Side) -> Side:
        """The side that is not ``side``."""
        return self.sides[1] if side is self.sides[0] else self.sides[0]

    def to_global(
        self, system: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``data`` with ``system``'s native references as global ids, and those
        that have no link yet."""
        if not self.has_refs:
            return dict(data), []
        inbound = self.refs.inbound
        return rewrite_refs(self.entity, data, lambda e, v: inbound.get((e, system, v)))

    def to_native(
        self, system: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``data`` with global ids as ``system``'s native references, and those
        ``system`` has no record for yet."""
        if not self.has_refs:
            return dict(data), []
        outbound = self.refs.outbound
        return rewrite_refs(self.entity, data, lambda e, v: outbound.get((e, system, v)))


def plan_group(facts: BatchFacts, group: GroupInput) -> GroupPlan:
    """Plan one group: a delete, or a three-way merge and the writes it needs."""
    if group.unreadable is not None:
        bad = group.unreadable
        return _held(group, Hold(bad.reason, bad, failed=True))
    deleted = any(row.deleted for row in group.rows.values())
    if group.unseen and not deleted:
        system, native_id = group.unseen[0]
        return _held(
            group,
            Hold(f"{system} {native_id} not found on a fresh read; waits for its change feed"),
        )
    try:
        if deleted:
            return _plan_delete(facts, group)
        return _plan_merge(facts, group)
    except DataError as exc:
        return _held(group, Hold(str(exc), failed=True))


def _held(group: GroupInput, hold: Hold) -> GroupPlan:
    return GroupPlan(group.gid, hold=hold)


# --- merging ---------------------------------------------------------------------


def _plan_merge(facts: BatchFacts, group: GroupInput) -> GroupPlan:
    views: dict[str, SideView] = {}
    for side in facts.sides:
        view = _view(facts, group, side)
        if isinstance(view, Hold):
            return _held(group, view)
        views[side.name] = view
    derived = group.rows.get(ENGINE_SYSTEM)
    base = group.base
    seed = None
    if base is None and derived is not None and derived.data is not None:
        # A record the engine derived (an order from an accepted quote): its
        # fields seed the result, and neither side has a base to compare with.
        base = {}
        views = {name: attrs.evolve(v, before=None) for name, v in views.items()}
        seed = json.loads(derived.data)
    resolved = group.resolutions
    outcome = merge(
        base,
        views["crm"],
        views["erp"],
        facts.rules,
        resolved={f: _chosen(res, f, views) for f, (res, _i) in resolved.items()},
        parked=frozenset(group.open_fields),
        memo=facts.memo,
    )
    if seed is not None:
        outcome = attrs.evolve(outcome, result={**seed, **outcome.result})
    settle = [i for _res, i in resolved.values()]
    settle += [group.open_fields[f] for f in outcome.settled if f in group.open_fields]
    outcome, derived_rows = derive(
        facts.scope, facts.entity, group.gid, outcome, facts.convert_quotes
    )
    ops: list[Op] = []
    seen: list[Seen] = []
    for side in facts.sides:
        step = _plan_side(facts, group, side, views[side.name], outcome, group.gone)
        if isinstance(step, Hold):
            return _held(group, step)
        _add_step(step, ops, seen)
    return GroupPlan(
        group.gid,
        ops=tuple(ops),
        new_base=outcome.result,
        drop_links=group.gone,
        seen=tuple(seen),
        outcome=outcome,
        settle=tuple(settle),
        derived=derived_rows,
        first_seen=group.base is None,
    )


def _add_step(step: Op | Seen | None, ops: list[Op], seen: list[Seen]) -> None:
    if isinstance(step, Op):
        ops.append(step)
    elif isinstance(step, Seen):
        seen.append(step)


def _view(facts: BatchFacts, group: GroupInput, side: Side) -> SideView | Hold:
    """What ``side`` holds now and held at the base, in global ids."""
    carried = side.carried(facts.entity)
    if not carried:
        return SideView(side.name, carried, None, None)
    row = group.rows.get(side.system)
    fresh = group.fresh.get(side.system, _ABSENT)
    native: Mapping[str, Any] | None
    if row is not None and row.data is not None:
        native = json.loads(row.data)
    elif fresh is not _ABSENT and fresh is not None:
        native = fresh
    else:
        native = None
    if native is None:
        before = _before(facts, group, side, None)
        if isinstance(before, Hold):
            return before
        linked = side.system in group.links and fresh is _ABSENT
        return SideView(side.name, carried, before if linked else None, before)
    current, missing = facts.to_global(side.system, native)
    if missing:
        ref_entity, value = missing[0]
        if (ref_entity, side.system, value) in facts.refs.absent:
            reason = f"refers to {ref_entity} {value}, which {side.system} does not have"
            bad = SetAside(
                side.system,
                row.native_id if row is not None else group.gid,
                _ref_field(facts.entity, native, ref_entity, value),
                reason,
            )
            return Hold(reason, bad, failed=True)
        return Hold(f"waiting for {ref_entity} {value} from {side.system}")
    before = _before(facts, group, side, current)
    if isinstance(before, Hold):
        return before
    stamp = row.stamp if row is not None else None
    return SideView(side.name, carried, current, before, stamp)


def _before(
    facts: BatchFacts, group: GroupInput, side: Side, current: Mapping[str, Any] | None
) -> dict[str, Any] | Hold | None:
    """The base as ``side`` can hold it (global ids), or None without a base.

    A parked field the base lacks (parked when the record was first linked) is
    taken from the side's current value, so it reads as unchanged there, or
    from its resolution once a person settled it.
    """
    if not group.base:
        return None
    base = dict(group.base)
    lacking = [name for name in group.open_fields if name not in base]
    if lacking and current is None:
        # The side holds nothing (deleted, or never linked): the parked field
        # reads as it stands on a side that still holds the record.
        current = _surviving(facts, group, side)
    for name in lacking:
        if current is not None and name in current:
            base[name] = current[name]
    for name, (resolution, _conflict_id) in group.resolutions.items():
        base.setdefault(name, resolution.get("value", resolution.get("fallback")))
    forms = _readback(facts, side, base, group.gid)
    if isinstance(forms, Hold):
        return forms
    return forms[0]


def _surviving(facts: BatchFacts, group: GroupInput, side: Side) -> Mapping[str, Any] | None:
    """The record as another side than ``side`` holds it now (global ids), if any."""
    for other in facts.sides:
        if other.system != side.system:
            held = _surviving_of(facts, other.system, group)
            if held is not None:
                return held
    return None


def _surviving_of(facts: BatchFacts, system: str, group: GroupInput) -> dict[str, Any] | None:
    """The record as ``system`` holds it now (global ids), if it holds it."""
    row = group.rows.get(system)
    native = json.loads(row.data) if row is not None and row.data else group.fresh.get(system)
    if native is None:
        return None
    return facts.to_global(system, native)[0]


def _plan_side(
    facts: BatchFacts,
    group: GroupInput,
    side: Side,
    view: SideView,
    outcome: MergeOutcome,
    drop_links: Sequence[tuple[str, str]],
) -> Op | Seen | Hold | None:
    """The write ``side`` needs to hold the merged record, if any."""
    linked = group.links.get(side.system)
    if linked is not None and (side.system, linked[0]) in drop_links:
        linked = None
    wanted = desired_for(view, outcome)
    if not wanted or not side.writes(facts.entity):
        return None
    if linked is None and not _may_create(facts, group, side):
        return None
    native_id = linked[0] if linked else None
    current_hash = _current_hash(group, side, linked)
    if (
        linked is not None
        and view.current is not None
        and all(view.current.get(k, _ABSENT) == v for k, v in wanted.items())
    ):
        # The side already holds the agreed record: nothing to write.
        return _seen(side, linked, current_hash)
    try:
        forms = _readback(facts, side, {**outcome.result, **wanted}, group.gid, native_id)
    except (DataError, ValueError, TypeError):
        if not facts.dry:
            raise
        # A plan gives records it would create stand-in ids that a system's own
        # id format may refuse; the write is planned from the agreed values.
        return _unchecked(side, view, wanted, linked, native_id)
    if isinstance(forms, Hold):
        return forms
    global_form, native_form, payload = forms
    seen_hash = fingerprint(dumps(native_form))
    if linked is not None and seen_hash == current_hash:
        return _seen(side, linked, seen_hash)
    before = view.current or {}
    changes = {k: (before.get(k), v) for k, v in global_form.items() if before.get(k) != v}
    kind = WriteKind.UPDATE if linked else WriteKind.CREATE
    own = linked[1] if linked else None
    version = _version(group, side) if linked else None
    return Op(side, kind, native_id, payload, seen_hash, changes, current_hash, own, version)


def _version(group: GroupInput, side: Side) -> str | None:
    """The version of ``side``'s record as staged or read fresh, if known."""
    row = group.rows.get(side.system)
    if row is not None and row.data is not None:
        return row.version
    return group.versions.get(side.system)


def _seen(side: Side, linked: Link, current_hash: str | None) -> Seen | None:
    if current_hash is not None and linked[1] != current_hash:
        return Seen(side.system, linked[0], current_hash)
    return None


def _unchecked(
    side: Side,
    view: SideView,
    wanted: Mapping[str, Any],
    linked: Link | None,
    native_id: str | None,
) -> Op:
    before = view.current or {}
    changes = {k: (before.get(k), v) for k, v in wanted.items() if before.get(k) != v}
    kind = WriteKind.UPDATE if linked else WriteKind.CREATE
    return Op(side, kind, native_id, None, None, changes)


def _current_hash(group: GroupInput, side: Side, linked: Link | None) -> str | None:
    row = group.rows.get(side.system)
    if row is not None and row.data is not None:
        return fingerprint(row.data)
    fresh = group.fresh.get(side.system)
    if fresh is not None:
        return fingerprint(dumps(fresh))
    return linked[1] if linked else None


def _may_create(facts: BatchFacts, group: GroupInput, side: Side) -> bool:
    other = facts.other(side)
    if other.system in group.rows or other.system in group.links:
        return facts.rules.may_create(other.name)
    # A record derived by the engine (an order from an accepted quote) that
    # neither system holds yet.
    return (
        ENGINE_SYSTEM in group.rows
        and side.system not in group.rows
        and side.system not in group.links
    )


def _readback(
    facts: BatchFacts,
    side: Side,
    data: Mapping[str, Any],
    gid: str,
    native_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | Hold:
    """What ``side`` would hold after writing ``data``, as (global form, native
    form, native payload to write), or a hold while a parent is missing there."""
    carried = side.carried(facts.entity)
    native, missing = facts.to_native(side.system, {k: v for k, v in data.items() if k in carried})
    if missing:
        ref_entity, value = missing[0]
        return Hold(f"waiting for {ref_entity} {value} on {side.system}")
    model = facts.model.model_validate({**native, "id": gid})
    payload = side.adapter.to_native(facts.entity, model)
    if side.adapter.mapping(facts.entity).round_trips:
        native_form = project(model, carried)
    else:
        back = side.adapter.to_canonical(facts.entity, NativeRecord(native_id or gid, payload))
        native_form = project(back, carried)
    global_form, _missing = facts.to_global(side.system, native_form)
    return global_form, native_form, payload


# --- deletes ---------------------------------------------------------------------


def _plan_delete(facts: BatchFacts, group: GroupInput) -> GroupPlan:
    deleted = [facts.side_of(s) for s, r in group.rows.items() if r.deleted]
    gone = {s.system for s in deleted if s is not None}
    drop_links = list(group.gone)
    for system in gone:
        drop_links.append(
            (system, group.links.get(system, (group.rows[system].native_id, None))[0])
        )
    survivors = [s for s in facts.sides if s.system not in gone and s.system in group.links]
    edited_elsewhere = any(s.system in group.rows for s in survivors)
    policy = facts.rules.deletes
    # A field parked between two sides is moot once one of them deleted the
    # record: the conflict is settled and the survivor's value stands.
    moot = group.open_fields if gone else {}
    plan = GroupPlan(group.gid, drop_links=tuple(drop_links), settle=tuple(moot.values()))
    if edited_elsewhere or policy is DeletePolicy.IGNORE or not survivors:
        new_base = _with_survivor(facts, group, survivors, moot) if survivors else None
        return attrs.evolve(plan, new_base=new_base, drop_base=not survivors)
    target = survivors[0]
    native_id = group.links[target.system][0]
    if policy is DeletePolicy.PROPAGATE and target.writes(facts.entity):
        version = group.versions.get(target.system)
        op = Op(target, WriteKind.DELETE, native_id, None, None, {}, version=version)
        return attrs.evolve(
            plan,
            ops=(op,),
            drop_links=(*plan.drop_links, (target.system, native_id)),
            drop_base=True,
        )
    if policy is DeletePolicy.ARCHIVE and group.base is not None and "active" in group.base:
        return _archive(facts, group, target, plan)
    return plan


def _archive(facts: BatchFacts, group: GroupInput, target: Side, plan: GroupPlan) -> GroupPlan:
    """The survivor keeps the record, marked inactive."""
    assert group.base is not None
    fresh = group.fresh.get(target.system)
    if fresh is None:
        return plan  # the survivor is gone too: nothing left to archive
    current, _missing = facts.to_global(target.system, fresh)
    # Fields the base lacks (parked at first sight) keep the survivor's value.
    archived = {**current, **group.base, "active": False}
    view = SideView(target.name, target.carried(facts.entity), current, None)
    outcome = MergeOutcome(archived, frozenset(), (), (), (), frozenset())
    step = _plan_side(facts, group, target, view, outcome, plan.drop_links)
    if isinstance(step, Hold):
        return _held(group, step)
    ops: list[Op] = []
    seen: list[Seen] = []
    _add_step(step, ops, seen)
    return attrs.evolve(plan, ops=tuple(ops), seen=tuple(seen), new_base=archived)


def _with_survivor(
    facts: BatchFacts, group: GroupInput, survivors: list[Side], fields: Mapping[str, int]
) -> Mapping[str, Any] | None:
    """The base, with the fields it lacks among ``fields`` as the first survivor
    holds them now."""
    if group.base is None or not fields or all(f in group.base for f in fields):
        return group.base
    held = _surviving_of(facts, survivors[0].system, group) or {}
    filled = {f: held[f] for f in fields if f not in group.base and f in held}
    return {**filled, **group.base}


# --- small pure helpers ------------------------------------------------------------


def _chosen(resolution: Mapping[str, Any], field: str, views: Mapping[str, SideView]) -> Any:
    """The value a resolution sets: the one given, or what the picked side holds now
    (so an edit made there after the conflict was parked is not lost)."""
    if "value" in resolution:
        return resolution["value"]
    picked = views.get(str(resolution.get("pick")))
    if picked is not None and picked.current is not None and field in picked.carried:
        return picked.current.get(field)
    return resolution.get("fallback")


def _ref_field(entity: str, data: Mapping[str, Any], ref_entity: str, value: str) -> str:
    """The path of the field holding ``value`` (``lines.0.product_id``), for messages."""
    for ref in references(entity):
        if ref.entity == ref_entity:
            found = _find_path(data, ref.path, value, ())
            if found is not None:
                return ".".join(found)
    return ref_entity


def _find_path(
    data: Any, path: tuple[str, ...], value: str, at: tuple[str, ...]
) -> tuple[str, ...] | None:
    if isinstance(data, list):
        for index, item in enumerate(data):
            found = _find_path(item, path, value, (*at, str(index)))
            if found is not None:
                return found
        return None
    if not isinstance(data, Mapping) or not path or path[0] not in data:
        return None
    if len(path) == 1:
        return (*at, path[0]) if data[path[0]] == value else None
    return _find_path(data[path[0]], path[1:], value, (*at, path[0]))
