"""The three-way, field-level merge. Pure: the same inputs give the same result.

Each side is seen as ``before`` (what crmerp last agreed that side holds, i.e. the
base as that side's mapping can express it) and ``current`` (what it holds now).
A field differs from ``before`` on one side: that side's value is taken, if its
direction lets it flow. On both sides, to different values: a conflict, settled
by the field's policy or parked for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from crmerp.sync._rules import EntityRules, Policy

__all__ = ["FieldChange", "FieldConflict", "MergeOutcome", "SideView", "merge"]

_MISSING: Any = object()
STILL_PARKED = "still parked: both sides keep their own value until a person decides"


@attrs.frozen
class SideView:
    """One side of a record for the merge (values in global-id space)."""

    name: str
    carried: frozenset[str]
    current: Mapping[str, Any] | None
    before: Mapping[str, Any] | None
    stamp: datetime | None = None

    def changed(self, field: str) -> bool:
        """True when this side holds ``field`` and it differs from ``before``."""
        if self.current is None or field not in self.carried:
            return False
        if self.before is None:
            # First sight (no base): an empty field proposes nothing, so a value only
            # the other side filled in is kept rather than erased.
            return not _empty(self.current.get(field))
        return bool(self.current.get(field, _MISSING) != self.before.get(field, _MISSING))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@attrs.frozen
class FieldChange:
    """A field whose agreed value changed, with where it came from and why."""

    field: str
    old: Any
    new: Any
    origin: str
    rule: str


@attrs.frozen
class FieldConflict:
    """Both sides changed a field to different values and the rule parks it."""

    field: str
    base: Any
    crm: Any
    erp: Any
    reason: str


@attrs.frozen
class MergeOutcome:
    """The agreed record, conflicts parked, and what changed."""

    result: dict[str, Any]
    parked: frozenset[str]
    conflicts: tuple[FieldConflict, ...]
    changes: tuple[FieldChange, ...]
    rejected: tuple[tuple[str, str], ...]
    settled: frozenset[str]


def merge(
    base: Mapping[str, Any] | None,
    crm: SideView,
    erp: SideView,
    rules: EntityRules,
    *,
    resolved: Mapping[str, Any] | None = None,
    parked: frozenset[str] = frozenset(),
    memo: dict[Any, Any] | None = None,
) -> MergeOutcome:
    """Merge one record. ``resolved`` holds field values a person chose;
    ``parked`` the fields with an open conflict from an earlier run.

    ``memo``, a dict kept by the caller for records merged under the same
    ``rules``, spares working out again what those rules bar on first sight.
    """
    if base is None and not resolved and not parked:
        only = _only_side(crm, erp)
        if only is not None:
            return _first_sight(only, rules, memo)
    agreed = dict(base or {})
    sides = {"crm": crm, "erp": erp}
    state = _Acc()
    fields = sorted(crm.carried | erp.carried | set(agreed))
    for name in fields:
        _merge_field(name, agreed, sides, rules, resolved or {}, parked, state)
    return MergeOutcome(
        agreed,
        frozenset(state.parked),
        tuple(state.conflicts),
        tuple(state.changes),
        tuple(state.rejected),
        frozenset(state.settled),
    )


def _first_sight(only: SideView, rules: EntityRules, memo: dict[Any, Any] | None) -> MergeOutcome:
    """A record one side has and the other never saw: taken as it is, but for the
    fields whose direction does not let them flow from that side."""
    assert only.current is not None
    key = ("barred", only.name, only.carried)
    barred = memo.get(key) if memo is not None else None
    if barred is None:
        barred = [f for f in only.carried if not rules.field(f).direction.allows_from(only.name)]
        if memo is not None:
            memo[key] = barred
    if not barred:
        return MergeOutcome(dict(only.current), frozenset(), (), (), (), frozenset())
    result = {k: v for k, v in only.current.items() if k not in barred}
    rejected = tuple((only.name, f) for f in sorted(barred) if not _empty(only.current.get(f)))
    return MergeOutcome(result, frozenset(), (), (), rejected, frozenset())


def _only_side(crm: SideView, erp: SideView) -> SideView | None:
    present = [v for v in (crm, erp) if v.current is not None]
    return present[0] if len(present) == 1 else None


@attrs.define
class _Acc:
    parked: set[str] = attrs.Factory(set)
    conflicts: list[FieldConflict] = attrs.Factory(list)
    changes: list[FieldChange] = attrs.Factory(list)
    rejected: list[tuple[str, str]] = attrs.Factory(list)
    settled: set[str] = attrs.Factory(set)


def _merge_field(
    name: str,
    agreed: dict[str, Any],
    sides: Mapping[str, SideView],
    rules: EntityRules,
    resolved: Mapping[str, Any],
    parked: frozenset[str],
    acc: _Acc,
) -> None:
    old = agreed.get(name)
    if name in resolved:
        _set(agreed, name, old, resolved[name], "resolution", "resolved", acc)
        acc.settled.add(name)
        return
    rule = rules.field(name)
    proposals: dict[str, Any] = {}
    for side, view in sides.items():
        if not view.changed(name):
            continue
        assert view.current is not None
        if rule.direction.allows_from(side):
            proposals[side] = view.current.get(name)
        else:
            acc.rejected.append((side, name))
    if name in parked:
        _keep_parked(name, agreed, sides, acc)
        return
    if not proposals:
        return
    values = list(proposals.values())
    if len(values) == 1 or values[0] == values[1]:
        origin = next(iter(proposals)) if len(proposals) == 1 else "both"
        _set(
            agreed,
            name,
            old,
            values[0],
            origin,
            "only-change" if origin != "both" else "same-change",
            acc,
        )
        return
    _conflict(name, agreed, sides, rule, proposals, acc)


def _keep_parked(
    name: str, agreed: dict[str, Any], sides: Mapping[str, SideView], acc: _Acc
) -> None:
    crm, erp = sides["crm"], sides["erp"]
    if crm.current is not None and erp.current is not None and name in crm.carried & erp.carried:
        value = crm.current.get(name)
        if value == erp.current.get(name):
            _set(agreed, name, agreed.get(name), value, "both", "sides-agree", acc)
            acc.settled.add(name)
            return
        # Still apart: the parked conflict is refreshed with what each side holds now.
        acc.conflicts.append(
            FieldConflict(name, agreed.get(name), value, erp.current.get(name), STILL_PARKED)
        )
    acc.parked.add(name)


def _conflict(
    name: str,
    agreed: dict[str, Any],
    sides: Mapping[str, SideView],
    rule: Any,
    proposals: Mapping[str, Any],
    acc: _Acc,
) -> None:
    old = agreed.get(name)
    if rule.policy is Policy.OWNER:
        _set(agreed, name, old, proposals[rule.owner], rule.owner, f"owner:{rule.owner}", acc)
        return
    if rule.policy is Policy.FUNCTION:
        value = rule.resolver(name, old, proposals["crm"], proposals["erp"])
        _set(agreed, name, old, value, "function", "function", acc)
        return
    if rule.policy is Policy.LATEST:
        crm_at, erp_at = sides["crm"].stamp, sides["erp"].stamp
        if crm_at is not None and erp_at is not None and crm_at != erp_at:
            winner = "crm" if crm_at > erp_at else "erp"
            _set(agreed, name, old, proposals[winner], winner, "latest", acc)
            return
        reason = "latest change wins, but the stamps are missing or equal"
    else:
        reason = "both sides changed the field; the rule parks it for review"
    acc.parked.add(name)
    acc.conflicts.append(FieldConflict(name, old, proposals["crm"], proposals["erp"], reason))


def _set(
    agreed: dict[str, Any], name: str, old: Any, new: Any, origin: str, rule: str, acc: _Acc
) -> None:
    if old != new or name not in agreed:
        acc.changes.append(FieldChange(name, old, new, origin, rule))
    agreed[name] = new


def desired_for(side: SideView, outcome: MergeOutcome) -> dict[str, Any]:
    """What ``side`` should hold after the merge: the agreed values on the fields it
    carries, except parked fields, which keep the side's own value."""
    wanted = {k: v for k, v in outcome.result.items() if k in side.carried}
    if side.current is not None:
        for name in outcome.parked & side.carried:
            wanted[name] = side.current.get(name)
    return wanted
