"""Apply: merge staged changes group by group, write both sides, commit.

Per batch of global ids: load links, bases and conflicts; fetch what must be
seen fresh; translate references; merge; record intents; write; commit links,
bases, audit and conflicts in one transaction. A group whose write failed keeps
its staged rows and its old base, so the next pass redoes exactly what is left.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmerp._errors import DataError
from crmerp.adapters import NativeRecord, WriteKind, WriteOp, WriteResult, reference_for
from crmerp.models import ENTITY_MODELS
from crmerp.state import InboxRow, Tx
from crmerp.sync._codec import (
    collect_refs,
    dumps,
    fingerprint,
    project,
    references,
    rewrite_refs,
)
from crmerp.sync._context import RunContext, Side
from crmerp.sync._linking import REVIEW_NOTE
from crmerp.sync._merge import STILL_PARKED, MergeOutcome, SideView, desired_for, merge
from crmerp.sync._report import PlannedWrite
from crmerp.sync._rules import DeletePolicy

__all__ = ["ENGINE_SYSTEM", "apply"]

ENGINE_SYSTEM = "crmerp"
"""Pseudo-system of staged rows the engine makes itself (re-checks, derived records)."""
FAILED_NOTE = "failed:"


@attrs.define
class _Op:
    side: Side
    kind: WriteKind
    native_id: str | None
    payload: dict[str, Any] | None
    seen_hash: str | None
    changes: dict[str, tuple[Any, Any]]
    expect: str | None = None


@attrs.define
class _Group:
    gid: str
    rows: dict[str, InboxRow]
    links: dict[str, tuple[str, str | None]]
    base: dict[str, Any] | None
    ops: list[_Op] = attrs.Factory(list)
    new_base: dict[str, Any] | None = None
    drop_base: bool = False
    drop_links: list[tuple[str, str]] = attrs.Factory(list)
    seen: list[tuple[str, str, str | None]] = attrs.Factory(list)
    outcome: MergeOutcome | None = None
    defer: str | None = None
    settle: list[int] = attrs.Factory(list)
    derived: list[InboxRow] = attrs.Factory(list)
    done: bool = True
    dangling: _Dangling | None = None


def apply(ctx: RunContext, entity: str) -> None:
    """Merge and write every staged group of ``entity``."""
    after: str | None = None
    while True:
        with ctx.tx() as tx:
            rows = tx.inbox_groups(ctx.scope, entity, after, ctx.batch_size)
        if not rows:
            return
        after = rows[-1].global_id
        _Batch(ctx, entity, rows).run()


class _Batch:
    def __init__(self, ctx: RunContext, entity: str, rows: Sequence[InboxRow]) -> None:
        self.ctx = ctx
        self.entity = entity
        self.rules = ctx.rules.entity(entity)
        self.model = ENTITY_MODELS[entity]
        self.rep = ctx.report.entity(entity)
        self.rows = rows
        self.inbound: dict[tuple[str, str, str], str] = {}
        self.outbound: dict[tuple[str, str, str], str] = {}
        self.current: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._restage: list[InboxRow] = []
        self._memo: dict[Any, Any] = {}

    # --- loading -------------------------------------------------------------------

    def run(self) -> None:
        groups = self._load()
        if not groups:
            return
        self._fetch(groups)
        self._load_refs(groups)
        for group in groups:
            self._plan(group)
        self.ctx.boundary("merge")
        self._write(groups)
        self._commit(groups)

    def _load(self) -> list[_Group]:
        ctx = self.ctx
        by_gid: dict[str, dict[str, InboxRow]] = {}
        for row in self.rows:
            if (row.note or "").startswith((REVIEW_NOTE, FAILED_NOTE)):
                continue
            assert row.global_id is not None
            by_gid.setdefault(row.global_id, {})[row.system] = row
        gids = list(by_gid)
        with ctx.tx() as tx:
            links = tx.links_by_global(ctx.scope, self.entity, gids)
            bases = tx.bases(ctx.scope, self.entity, gids)
            self.open_fields = tx.open_conflict_fields(ctx.scope, self.entity, gids)
            self.resolutions = _resolutions(tx, ctx.scope, self.entity, gids)
        groups = []
        for gid, rows in by_gid.items():
            known = dict(links.get(gid, {}))
            for system, row in rows.items():
                # A record staged from a side is that side's record, linked or not
                # yet (a new record, or one the matcher paired with the other side).
                if system != ENGINE_SYSTEM and not row.deleted:
                    known.setdefault(system, (row.native_id, None))
            base = json.loads(bases[gid]) if gid in bases else None
            groups.append(_Group(gid, rows, known, base))
        return groups

    def _needs_fresh(self, group: _Group) -> bool:
        return (
            any(row.deleted for row in group.rows.values())
            or group.base is None
            or ENGINE_SYSTEM in group.rows
            or group.gid in self.open_fields
            or group.gid in self.resolutions
        )

    def _fetch(self, groups: list[_Group]) -> None:
        for side in self.ctx.sides():
            wanted = {
                group.links[side.system][0]: group
                for group in groups
                if side.system in group.links
                and side.system not in group.rows
                and self._needs_fresh(group)
                and side.reads(self.entity)
            }
            if not wanted:
                continue
            records = self._fetch_side(side, list(wanted))
            found = {r.id: r for r in records}
            for native_id, group in wanted.items():
                record = found.get(native_id)
                if record is None:
                    self.current[(side.system, group.gid)] = None
                    group.drop_links.append((side.system, native_id))
                    continue
                try:
                    self.current[(side.system, group.gid)] = self._canonical(side, record)
                except DataError as exc:
                    _set_aside(group, side.system, native_id, exc)

    def _fetch_side(self, side: Side, ids: list[str]) -> list[NativeRecord]:
        def call() -> list[NativeRecord]:
            return side.adapter.fetch(self.entity, ids)

        result: list[NativeRecord] = self.ctx.call(f"fetch {side.system} {self.entity}", call)
        return result

    def _canonical(self, side: Side, record: NativeRecord) -> dict[str, Any]:
        model = side.adapter.to_canonical(self.entity, record)
        return project(model, side.carried(self.entity))

    def _load_refs(self, groups: list[_Group]) -> None:
        """Prefetch reference translations: native -> global and global -> native."""
        if not references(self.entity):
            return  # nothing to translate (customers, products): no record to parse
        ctx = self.ctx
        inbound: dict[tuple[str, str], set[str]] = {}
        for group in groups:
            for system, data in self._incoming(group):
                for ref_entity, value in collect_refs(self.entity, data):
                    inbound.setdefault((ref_entity, system), set()).add(value)
        with ctx.tx() as tx:
            for (ref_entity, system), natives in inbound.items():
                found = tx.links_by_native(ctx.scope, ref_entity, system, sorted(natives))
                for native, (gid, _h) in found.items():
                    self.inbound[(ref_entity, system, native)] = gid
            outbound: dict[str, set[str]] = {}
            for group in groups:
                derived = [
                    json.loads(r.data)
                    for s, r in group.rows.items()
                    if s == ENGINE_SYSTEM and r.data is not None
                ]
                for data in [group.base or {}, *derived]:
                    for ref_entity, value in collect_refs(self.entity, data):
                        outbound.setdefault(ref_entity, set()).add(value)
            for system_key in list(self.inbound):
                outbound.setdefault(system_key[0], set()).add(self.inbound[system_key])
            for ref_entity, gids in outbound.items():
                for gid, systems in tx.links_by_global(ctx.scope, ref_entity, sorted(gids)).items():
                    for system, (native, _h) in systems.items():
                        self.outbound[(ref_entity, system, gid)] = native

    def _incoming(self, group: _Group) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for system, row in group.rows.items():
            if row.data is not None and not row.deleted and system != ENGINE_SYSTEM:
                out.append((system, json.loads(row.data)))
        for side in self.ctx.sides():
            data = self.current.get((side.system, group.gid))
            if data is not None:
                out.append((side.system, data))
        return out

    def _to_global(
        self, system: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return rewrite_refs(self.entity, data, lambda e, v: self.inbound.get((e, system, v)))

    def _to_native(
        self, system: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return rewrite_refs(self.entity, data, lambda e, v: self.outbound.get((e, system, v)))

    # --- planning one group ----------------------------------------------------------

    def _plan(self, group: _Group) -> None:
        if group.dangling is not None:
            return  # set aside while fetching
        try:
            if any(row.deleted for row in group.rows.values()):
                self._plan_delete(group)
            else:
                self._plan_merge(group)
        except _Wait as wait:
            group.defer = str(wait)
            group.done = False
        except _Dangling as dangling:
            group.dangling = dangling
            group.defer = f"{FAILED_NOTE} {dangling.reason}"
            group.done = False
        except DataError as exc:
            group.defer = f"{FAILED_NOTE} {exc}"
            group.done = False

    def _view(self, group: _Group, side: Side) -> SideView | None:
        carried = side.carried(self.entity)
        if not carried:
            return SideView(side.name, carried, None, None)
        row = group.rows.get(side.system)
        fresh = self.current.get((side.system, group.gid), _ABSENT)
        if row is not None and row.data is not None:
            native = json.loads(row.data)
        elif fresh is not _ABSENT and fresh is not None:
            native = fresh
        else:
            native = None
        if native is None:
            before = self._before(side, group, None)
            linked = side.system in group.links and fresh is _ABSENT
            current = before if linked else None
            return SideView(side.name, carried, current, before)
        current, missing = self._to_global(side.system, native)
        if missing:
            ref_entity, value = missing[0]
            if not self._parent_exists(side, ref_entity, value):
                raise _Dangling(
                    side.system,
                    group.rows[side.system].native_id if side.system in group.rows else group.gid,
                    _ref_field(self.entity, native, ref_entity, value),
                    f"refers to {ref_entity} {value}, which {side.system} does not have",
                )
            group.defer = f"waiting for {ref_entity} {value} from {side.system}"
            return None
        stamp = row.stamp if row is not None else None
        before = self._before(side, group, current)
        return SideView(side.name, carried, current, before, stamp)

    def _parent_exists(self, side: Side, ref_entity: str, native_id: str) -> bool:
        """Whether a parent the engine has no link for is there on ``side`` at all:
        if so the child waits for it to be synced, if not the child is quarantined."""
        if not side.reads(ref_entity):
            return True
        try:
            found = side.adapter.fetch(ref_entity, [native_id])
        except Exception:  # cannot tell: waiting is the safe choice
            return True
        return any(r.id == native_id and not r.deleted for r in found)

    def _before(
        self, side: Side, group: _Group, current: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The base as ``side`` can hold it (global ids), or None without a base.

        A parked field the base lacks (parked when the record was first linked) is
        taken from the side's current value, so it reads as unchanged there, or
        from its resolution once a person settled it.
        """
        if not group.base:
            return None
        base = dict(group.base)
        parked = self.open_fields.get(group.gid, {})
        lacking = [name for name in parked if name not in base]
        if lacking and current is None:
            # The side holds nothing (deleted, or never linked): the parked field
            # reads as it stands on a side that still holds the record.
            current = self._surviving(side, group)
        for name in lacking:
            if current is not None and name in current:
                base[name] = current[name]
        for name, (resolution, _conflict_id) in self.resolutions.get(group.gid, {}).items():
            base.setdefault(name, resolution.get("value", resolution.get("fallback")))
        forms, missing = self._readback(side, base, group.gid)
        if forms is None:
            ref_entity, value = missing[0]
            raise _Wait(f"waiting for {ref_entity} {value} on {side.system}")
        return forms[0]

    def _surviving(self, side: Side, group: _Group) -> Mapping[str, Any] | None:
        """The record as another side than ``side`` holds it now (global ids), if any."""
        for other in self.ctx.sides():
            if other.system != side.system:
                held = self._surviving_of(other.system, group)
                if held is not None:
                    return held
        return None

    def _surviving_of(self, system: str, group: _Group) -> dict[str, Any] | None:
        """The record as ``system`` holds it now (global ids), if it holds it."""
        row = group.rows.get(system)
        fresh = self.current.get((system, group.gid))
        native = json.loads(row.data) if row is not None and row.data else fresh
        if native is None or native is _ABSENT:
            return None
        return self._to_global(system, native)[0]

    def _plan_merge(self, group: _Group) -> None:
        views = {}
        for side in self.ctx.sides():
            view = self._view(group, side)
            if view is None:
                group.done = False
                return
            views[side.name] = view
        derived = group.rows.get(ENGINE_SYSTEM)
        base = group.base
        if base is None and derived is not None and derived.data is not None:
            base = {}
            views = {name: attrs.evolve(v, before=None) for name, v in views.items()}
            seed = json.loads(derived.data)
        else:
            seed = None
        resolved = self.resolutions.get(group.gid, {})
        outcome = merge(
            base,
            views["crm"],
            views["erp"],
            self.rules,
            resolved={f: _chosen(res, f, views) for f, (res, _i) in resolved.items()},
            parked=frozenset(self.open_fields.get(group.gid, {})),
            memo=self._memo,
        )
        if seed is not None:
            outcome = attrs.evolve(outcome, result={**seed, **outcome.result})
        group.settle = [i for _res, i in resolved.values()]
        group.settle += [
            self.open_fields[group.gid][f]
            for f in outcome.settled
            if f in self.open_fields.get(group.gid, {})
        ]
        self._convert_quote(group, outcome)
        group.outcome = outcome
        group.new_base = outcome.result
        for side in self.ctx.sides():
            self._plan_side(group, side, views[side.name], outcome)
            if group.defer:
                group.done = False
                return

    def _convert_quote(self, group: _Group, outcome: MergeOutcome) -> None:
        if self.entity != "quote" or not self.ctx.rules.convert_accepted_quotes:
            return
        if outcome.result.get("status") != "accepted":
            return
        from crmerp.sync._codec import deterministic_id

        outcome.result["status"] = "converted"
        order_id = deterministic_id(self.ctx.scope, "order", ENGINE_SYSTEM, group.gid)
        fields = ("customer_id", "currency", "payment_terms", "lines", "number")
        order = {k: outcome.result[k] for k in fields if k in outcome.result}
        order.update(quote_id=group.gid, status="confirmed")
        group.derived.append(
            InboxRow("order", ENGINE_SYSTEM, order_id, order_id, dumps(order), None)
        )
        self.rep.derived += 1

    def _plan_side(self, group: _Group, side: Side, view: SideView, outcome: MergeOutcome) -> None:
        linked = group.links.get(side.system)
        if (side.system, linked[0] if linked else "") in group.drop_links:
            linked = None
        wanted = desired_for(view, outcome)
        if not wanted or not side.writes(self.entity):
            return
        if linked is None and not self._may_create(group, side):
            return
        native_id = linked[0] if linked else None
        current_hash = self._current_hash(group, side, linked)
        if (
            linked is not None
            and view.current is not None
            and all(view.current.get(k, _ABSENT) == v for k, v in wanted.items())
        ):
            # The side already holds the agreed record: nothing to write.
            if current_hash is not None and linked[1] != current_hash:
                group.seen.append((side.system, linked[0], current_hash))
            return
        try:
            readback, missing = self._readback(
                side, {**outcome.result, **wanted}, group.gid, native_id
            )
        except (DataError, ValueError, TypeError):
            if not self.ctx.dry:
                raise
            # A plan gives records it would create stand-in ids that a system's own
            # id format may refuse; the write is planned from the agreed values.
            self._plan_unchecked(group, side, view, wanted, linked, native_id)
            return
        if missing:
            ref_entity, value = missing[0]
            group.defer = f"waiting for {ref_entity} {value} on {side.system}"
            return
        assert readback is not None
        global_form, native_form, payload = readback
        seen_hash = fingerprint(dumps(native_form))
        if linked is not None and seen_hash == current_hash:
            if linked[1] != seen_hash:
                group.seen.append((side.system, linked[0], seen_hash))
            return
        before = view.current or {}
        changes = {k: (before.get(k), v) for k, v in global_form.items() if before.get(k) != v}
        kind = WriteKind.UPDATE if linked else WriteKind.CREATE
        group.ops.append(_Op(side, kind, native_id, payload, seen_hash, changes, current_hash))

    def _plan_unchecked(
        self,
        group: _Group,
        side: Side,
        view: SideView,
        wanted: Mapping[str, Any],
        linked: Any,
        native_id: str | None,
    ) -> None:
        before = view.current or {}
        changes = {k: (before.get(k), v) for k, v in wanted.items() if before.get(k) != v}
        kind = WriteKind.UPDATE if linked else WriteKind.CREATE
        group.ops.append(_Op(side, kind, native_id, None, None, changes))

    def _current_hash(
        self, group: _Group, side: Side, linked: tuple[str, str | None] | None
    ) -> str | None:
        row = group.rows.get(side.system)
        if row is not None and row.data is not None:
            return fingerprint(row.data)
        fresh = self.current.get((side.system, group.gid))
        if fresh is not None:
            return fingerprint(dumps(fresh))
        return linked[1] if linked else None

    def _may_create(self, group: _Group, side: Side) -> bool:
        other = self.ctx.other(side)
        if other.system in group.rows or other.system in group.links:
            return self.rules.may_create(other.name)
        # A record derived by the engine (an order from an accepted quote) that
        # neither system holds yet.
        return (
            ENGINE_SYSTEM in group.rows
            and side.system not in group.rows
            and side.system not in group.links
        )

    def _readback(
        self, side: Side, data: Mapping[str, Any] | None, gid: str, native_id: str | None = None
    ) -> tuple[tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None, list[Any]]:
        """What ``side`` would hold after writing ``data``, as (global form, native
        form, native payload to write)."""
        if data is None:
            return None, []
        carried = side.carried(self.entity)
        native, missing = self._to_native(
            side.system, {k: v for k, v in data.items() if k in carried}
        )
        if missing:
            return None, missing
        model = self.model.model_validate({**native, "id": gid})
        payload = side.adapter.to_native(self.entity, model)
        if side.adapter.mapping(self.entity).round_trips:
            native_form = project(model, carried)
        else:
            back = side.adapter.to_canonical(self.entity, NativeRecord(native_id or gid, payload))
            native_form = project(back, carried)
        global_form, _missing = self._to_global(side.system, native_form)
        return (global_form, native_form, payload), []

    def _plan_delete(self, group: _Group) -> None:
        deleted = [self.ctx.side_of(s) for s, r in group.rows.items() if r.deleted]
        gone = {s.system for s in deleted if s is not None}
        for system in gone:
            group.drop_links.append(
                (system, group.links.get(system, (group.rows[system].native_id, None))[0])
            )
        survivors = [
            s for s in self.ctx.sides() if s.system not in gone and s.system in group.links
        ]
        edited_elsewhere = any(s.system in group.rows for s in survivors)
        policy = self.rules.deletes
        moot = self.open_fields.get(group.gid, {}) if gone else {}
        # A field parked between two sides is moot once one of them deleted the
        # record: the conflict is settled and the survivor's value stands.
        group.settle.extend(moot.values())
        if edited_elsewhere or policy is DeletePolicy.IGNORE or not survivors:
            group.new_base = self._with_survivor(group, survivors, moot) if survivors else None
            group.drop_base = not survivors
            return
        target = survivors[0]
        native_id = group.links[target.system][0]
        if policy is DeletePolicy.PROPAGATE and target.writes(self.entity):
            group.ops.append(_Op(target, WriteKind.DELETE, native_id, None, None, {}))
            group.drop_links.append((target.system, native_id))
            group.drop_base = True
            return
        if policy is DeletePolicy.ARCHIVE and group.base is not None and "active" in group.base:
            fresh = self.current.get((target.system, group.gid))
            if fresh is None:
                return  # the survivor is gone too: nothing left to archive
            current, _missing = self._to_global(target.system, fresh)
            # Fields the base lacks (parked at first sight) keep the survivor's value.
            archived = {**current, **group.base, "active": False}
            group.new_base = archived
            view = SideView(target.name, target.carried(self.entity), current, None)
            outcome = MergeOutcome(archived, frozenset(), (), (), (), frozenset())
            self._plan_side(group, target, view, outcome)

    def _with_survivor(
        self, group: _Group, survivors: list[Side], fields: Mapping[str, int]
    ) -> dict[str, Any] | None:
        """The base, with the fields it lacks among ``fields`` as the first survivor
        holds them now."""
        if group.base is None or not fields or all(f in group.base for f in fields):
            return group.base
        held = self._surviving_of(survivors[0].system, group) or {}
        filled = {f: held[f] for f in fields if f not in group.base and f in held}
        return {**filled, **group.base}

    # --- writing and committing --------------------------------------------------------

    def _write(self, groups: list[_Group]) -> None:
        ctx = self.ctx
        if not ctx.dry:
            self._check_unchanged(groups)
        ops = [(group, op) for group in groups if group.done for op in group.ops]
        if not ops:
            return
        intent_rows = [
            {
                "entity": self.entity,
                "system": op.side.system,
                "global_id": group.gid,
                "kind": op.kind.value,
                "reference": reference_for(group.gid),
                "native_id": op.native_id,
                "payload_hash": op.seen_hash or "",
            }
            for group, op in ops
        ]
        with ctx.tx() as tx:
            self.intent_ids = tx.record_intents(ctx.scope, ctx.run_id, intent_rows)
        ctx.boundary("intent.recorded")
        self.results: dict[int, WriteResult] = {}
        for side in ctx.sides():
            mine = [(i, g, op) for i, (g, op) in enumerate(ops) if op.side is side]
            for start in range(0, len(mine), side.caps.max_batch):
                chunk = mine[start : start + side.caps.max_batch]
                self._send(side, chunk)

    def _check_unchanged(self, groups: list[_Group]) -> None:
        """Re-read records about to be updated; one edited since it was read is not
        overwritten blind: its group waits and the edit is merged on the next pass."""
        for side in self.ctx.sides():
            expected = {
                op.native_id: (group, op.expect)
                for group in groups
                if group.done
                for op in group.ops
                if op.side is side
                and op.kind is WriteKind.UPDATE
                and op.native_id
                and op.expect is not None
                and side.reads(self.entity)
            }
            if not expected:
                continue
            found = {r.id: r for r in self._fetch_side(side, list(expected))}
            for native_id, (group, expect) in expected.items():
                record = found.get(native_id)
                try:
                    current = self._canonical(side, record) if record is not None else None
                except DataError as exc:
                    _set_aside(group, side.system, native_id, exc)
                    continue
                # What the engine itself last wrote there (a write of an earlier pass
                # whose group had to wait) is not somebody else's edit.
                own = group.links.get(side.system, (None, None))[1]
                if current is None or fingerprint(dumps(current)) not in {expect, own}:
                    group.done = False
                    group.defer = f"{side.system} {native_id} changed while syncing; re-merging"
                    self._restage.append(
                        InboxRow(
                            self.entity,
                            side.system,
                            native_id,
                            group.gid,
                            dumps(current) if current is not None else None,
                            record.stamp if record is not None else None,
                            deleted=record is None,
                        )
                    )

    def _send(self, side: Side, chunk: list[tuple[int, _Group, _Op]]) -> None:
        ctx = self.ctx
        write_ops = [
            WriteOp(op.kind, reference_for(g.gid), op.payload, op.native_id) for _i, g, op in chunk
        ]
        if ctx.dry:
            results = [
                WriteResult.done(op.native_id or f"(planned {g.gid[:8]})") for _i, g, op in chunk
            ]
            for _i, g, op in chunk:
                ctx.report.planned.append(
                    PlannedWrite(
                        self.entity, side.name, op.kind.value, g.gid, op.native_id, op.changes
                    )
                )
        else:

            def send() -> list[WriteResult]:
                # Without upsert by reference, look for records an earlier attempt
                # (whose answer was lost) already made, before every attempt.
                ops = write_ops
                if not side.caps.upsert_by_reference:
                    ops = self._resolve_existing(side, write_ops)
                return side.adapter.write_checked(self.entity, ops)

            ctx.boundary("write.sent")
            results = ctx.call(f"write {side.system} {self.entity}", send)
            ctx.boundary("write.answered")
        for (index, _g, _op), result in zip(chunk, results, strict=True):
            self.results[index] = result

    def _resolve_existing(self, side: Side, ops: list[WriteOp]) -> list[WriteOp]:
        refs = [op.reference for op in ops if op.kind is WriteKind.CREATE]
        if not refs:
            return ops
        found = side.adapter.find_by_reference(self.entity, refs)
        return [
            attrs.evolve(op, kind=WriteKind.UPDATE, native_id=found[op.reference].id)
            if op.kind is WriteKind.CREATE and op.reference in found
            else op
            for op in ops
        ]

    def _commit(self, groups: list[_Group]) -> None:
        ctx = self.ctx
        results = getattr(self, "results", {})
        acc = _Commit()
        index = 0
        for group in groups:
            ok = group.done
            for op in group.ops if group.done else []:
                ok = self._record(group, op, results.get(index), acc) and ok
                index += 1
            self._settle(group, ok, acc)
        with ctx.tx() as tx:
            acc.flush(tx, ctx.scope, self.entity, ctx.run_id)
            if self._restage:
                tx.stage(ctx.scope, self._restage)
            if getattr(self, "intent_ids", None):
                tx.close_intents(self.intent_ids)
            if ctx.worker_id and not ctx.dry:
                tx.acquire_lease(ctx.scope, ctx.worker_id, ctx.lease_ttl)
        ctx.boundary("state.commit")
        ctx.progress(self.entity, "apply", len(groups))

    def _record(self, group: _Group, op: _Op, result: WriteResult | None, acc: _Commit) -> bool:
        side_rep = self.rep.side(op.side.name)
        if result is None or result.status.value == "retry":
            side_rep.retried += 1
            group.defer = f"retry: {result.reason if result else 'not sent'}"
            return False
        if result.status.value == "failed":
            side_rep.failed += 1
            side_rep.quarantined += 1
            group.defer = f"{FAILED_NOTE} {op.side.system}: {result.reason}"
            acc.quarantine.append(
                {
                    "entity": self.entity,
                    "system": op.side.system,
                    "native_id": op.native_id or group.gid,
                    "field": None,
                    "reason": f"write refused: {result.reason}",
                    "payload": json.dumps(op.payload, default=str, sort_keys=True),
                }
            )
            return False
        if op.kind is WriteKind.DELETE:
            side_rep.deleted += 1
            return True
        if op.kind is WriteKind.CREATE:
            side_rep.created += 1
        else:
            side_rep.updated += 1
        assert result.native_id is not None
        # The write changed the native payload: its raw hash is unknown until read.
        acc.links.append(
            (self.entity, op.side.system, result.native_id, group.gid, op.seen_hash, None)
        )
        return True

    def _settle(self, group: _Group, ok: bool, acc: _Commit) -> None:
        entity = self.entity
        if ok:
            acc.drop_links.extend(group.drop_links)
        if group.dangling is not None:
            bad = group.dangling
            side = self.ctx.side_of(bad.system)
            if side is not None:
                self.rep.side(side.name).quarantined += 1
            acc.quarantine.append(
                {
                    "entity": entity,
                    "system": bad.system,
                    "native_id": bad.native_id,
                    "field": bad.field,
                    "reason": bad.reason,
                    "payload": None,
                }
            )
            acc.unstage.append((bad.system, bad.native_id))
            others = [
                (s, r.native_id, group.defer or "deferred")
                for s, r in group.rows.items()
                if s != bad.system
            ]
            acc.defer.extend(others)
            return
        if not ok:
            self.rep.deferred += 1
            note = group.defer or "deferred"
            acc.defer.extend((s, r.native_id, note) for s, r in group.rows.items())
            return
        for system, native_id, seen_hash in group.seen:
            acc.links.append(
                (entity, system, native_id, group.gid, seen_hash, _raw_of(group, system, seen_hash))
            )
        written = {op.side.system for op in group.ops}
        for system, row in group.rows.items():
            if (
                system != ENGINE_SYSTEM
                and row.data is not None
                and not row.deleted
                and (system not in written)
            ):
                acc.links.append(
                    (entity, system, row.native_id, group.gid, fingerprint(row.data), row.raw_hash)
                )
        if group.drop_base:
            acc.drop_bases.append(group.gid)
        elif group.new_base is not None:
            text = dumps(group.new_base)
            acc.bases.append((group.gid, text, fingerprint(text)))
        acc.unstage.extend((s, r.native_id) for s, r in group.rows.items())
        acc.derived.extend(group.derived)
        self._record_outcome(group, acc)

    def _record_outcome(self, group: _Group, acc: _Commit) -> None:
        outcome = group.outcome
        acc.settled.extend(group.settle)
        self.rep.conflicts_settled += len(group.settle)
        if outcome is None:
            return
        self.rep.merged += 1
        if group.base is None:
            sides = {side.name for side in self.ctx.sides() if side.system in group.rows}
            origins = sorted({c.origin for c in outcome.changes} | sides) or ["engine"]
            acc.audit.append(
                {
                    "entity": self.entity,
                    "global_id": group.gid,
                    "field": "*",
                    "old": None,
                    "new": None,
                    "origin": "+".join(origins),
                    "rule": "first-seen",
                }
            )
        else:
            acc.audit.extend(
                {
                    "entity": self.entity,
                    "global_id": group.gid,
                    "field": c.field,
                    "old": json.dumps(c.old, default=str),
                    "new": json.dumps(c.new, default=str),
                    "origin": c.origin,
                    "rule": c.rule,
                }
                for c in outcome.changes
            )
        for change in outcome.changes:
            if change.rule.startswith(("owner", "latest", "function")):
                counts = self.rep.conflicts_resolved_by_rule
                counts[change.rule] = counts.get(change.rule, 0) + 1
        for conflict in outcome.conflicts:
            acc.conflicts.append(
                {
                    "kind": "field",
                    "entity": self.entity,
                    "global_id": group.gid,
                    "field": conflict.field,
                    "base": conflict.base,
                    "crm": conflict.crm,
                    "erp": conflict.erp,
                    "detail": {"reason": conflict.reason},
                }
            )
            if conflict.reason != STILL_PARKED:
                self.rep.conflicts_parked += 1


@attrs.define
class _Commit:
    """Everything one batch commits, gathered so each kind is one statement."""

    links: list[tuple[str, str, str, str, str | None, str | None]] = attrs.Factory(list)
    drop_links: list[tuple[str, str]] = attrs.Factory(list)
    bases: list[tuple[str, str, str]] = attrs.Factory(list)
    drop_bases: list[str] = attrs.Factory(list)
    unstage: list[tuple[str, str]] = attrs.Factory(list)
    defer: list[tuple[str, str, str]] = attrs.Factory(list)
    derived: list[InboxRow] = attrs.Factory(list)
    audit: list[dict[str, Any]] = attrs.Factory(list)
    conflicts: list[dict[str, Any]] = attrs.Factory(list)
    settled: list[int] = attrs.Factory(list)
    quarantine: list[dict[str, Any]] = attrs.Factory(list)

    def flush(self, tx: Tx, scope: str, entity: str, run_id: str) -> None:
        for system, native_id in self.drop_links:
            tx.drop_links(scope, entity, system, [native_id])
        # A record's link can be gathered twice (seen, and as the side it came
        # from); upserts of one key apply in order, so the last one is all that counts.
        tx.put_links(scope, list({link[:3]: link for link in self.links}.values()))
        if self.drop_bases:
            tx.drop_bases(scope, entity, self.drop_bases)
        tx.put_bases(scope, entity, self.bases)
        tx.unstage(scope, entity, self.unstage)
        for system, native_id, note in self.defer:
            tx.defer(scope, entity, [(system, native_id)], note)
        if self.derived:
            tx.stage(scope, self.derived)
        tx.audit(scope, run_id, self.audit)
        for conflict_id in self.settled:
            tx.set_conflict(conflict_id, "applied")
        for conflict in self.conflicts:
            tx.add_conflict(scope, **conflict)
        if self.quarantine:
            tx.quarantine(scope, self.quarantine)


_ABSENT: Any = object()


class _Wait(Exception):
    """A group must wait for a parent record."""


class _Dangling(Exception):
    """A record to set aside: it refers to a parent its own system does not have,
    or it does not validate when fetched fresh."""

    def __init__(self, system: str, native_id: str, field: str, reason: str) -> None:
        super().__init__(reason)
        self.system = system
        self.native_id = native_id
        self.field = field
        self.reason = reason


def _raw_of(group: _Group, system: str, seen_hash: str | None) -> str | None:
    """The raw hash of what ``system`` holds, when the hash seen is that of its
    staged row (a record fetched fresh was not hashed: None)."""
    row = group.rows.get(system)
    if row is None or row.data is None or row.raw_hash is None:
        return None
    return row.raw_hash if fingerprint(row.data) == seen_hash else None


def _set_aside(group: _Group, system: str, native_id: str, exc: DataError) -> None:
    """``system`` holds the record, but in a form that does not validate: merging
    past it would overwrite whatever a user did there, so it is quarantined and
    the group's changes wait for it (see ``retry_quarantined``)."""
    group.dangling = _Dangling(system, native_id, exc.field or "", f"{system}: {exc}")
    group.defer = f"{FAILED_NOTE} {group.dangling.reason}"
    group.done = False


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


def _resolutions(
    tx: Tx, scope: str, entity: str, gids: Sequence[str]
) -> dict[str, dict[str, tuple[dict[str, Any], int]]]:
    wanted = set(gids)
    found: dict[str, dict[str, tuple[dict[str, Any], int]]] = {}
    for conflict in tx.conflicts(scope, status="resolved"):
        if conflict.kind == "field" and conflict.entity == entity and conflict.global_id in wanted:
            resolution = conflict.resolution or {}
            found.setdefault(conflict.global_id, {})[conflict.field] = (resolution, conflict.id)
    return found


def _chosen(resolution: Mapping[str, Any], field: str, views: Mapping[str, SideView]) -> Any:
    """The value a resolution sets: the one given, or what the picked side holds now
    (so an edit made there after the conflict was parked is not lost)."""
    if "value" in resolution:
        return resolution["value"]
    picked = views.get(str(resolution.get("pick")))
    if picked is not None and picked.current is not None and field in picked.carried:
        return picked.current.get(field)
    return resolution.get("fallback")
