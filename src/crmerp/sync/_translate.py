"""Translate: native records of a page into staged canonical rows, validated once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from crmerp._errors import DataError
from crmerp.adapters import NativeRecord
from crmerp.state import InboxRow
from crmerp.sync._codec import deterministic_id, dumps, fingerprint, project
from crmerp.sync._context import RunContext, Side
from crmerp.sync._raw import raw_hash, raw_salt
from crmerp.sync._stamps import Copy, read_stamps

__all__ = ["Translated", "translate"]


@attrs.frozen
class Translated:
    """A page as translated: rows to stage, records set aside (quarantine rows),
    copies of linked records (held for review), and raw hashes to remember."""

    staged: tuple[InboxRow, ...]
    bad: tuple[dict[str, Any], ...]
    copies: tuple[Copy, ...]
    hashed: tuple[tuple[str, str, str], ...] = ()
    """``(native id, seen hash, raw hash)`` of linked records validated and found
    unchanged whose link lacks that raw hash: stored so the next read skips them."""


def translate(
    ctx: RunContext,
    entity: str,
    side: Side,
    records: Sequence[NativeRecord],
    seen: set[str] | None,
    *,
    skip: bool = True,
) -> Translated:
    """Each record of a page as the engine stages it: validated once into its
    canonical form, with its global id (link, trusted stamp or deterministic id);
    echoes and unchanged records are dropped, bad ones set aside with their reason.

    A record whose raw hash is the one its link keeps is the payload last read:
    it stops before validation (``skip=False``, for a reconcile, validates all).
    """
    rep = ctx.report.entity(entity)
    side_rep = rep.side(side.name)
    mapping = side.adapter.mapping(entity)
    carried = mapping.carried
    instance = side.instance
    salt = raw_salt(side.adapter, entity, carried)
    with ctx.tx() as tx:
        known = tx.links.read(entity, side.system, [r.id for r in records])
        stamps = read_stamps(ctx, tx, entity, side, [r for r in records if r.id not in known])
    staged: list[InboxRow] = []
    bad: list[dict[str, Any]] = []
    copies: list[Copy] = []
    hashed: list[tuple[str, str, str]] = []
    for record in records:
        side_rep.pulled += 1
        if seen is not None:
            seen.add(record.id)
        link = known.get(record.id)
        raw = raw_hash(record, salt)
        if skip and link is not None and raw is not None and link[2] == raw:
            _note_unknown(rep, side, mapping.unknown_keys(record.payload))
            if side.caps.change_feed:
                side_rep.echoes += 1
            else:
                side_rep.unchanged += 1
            continue
        stamp = stamps.get(record.id)
        if link is not None:
            global_id, new = link[0], False
        elif stamp is not None and stamp.copy_of is None:
            global_id, new = stamp.global_id, not stamp.known
        else:
            global_id = deterministic_id(ctx.scope, entity, side.system, instance, record.id)
            new = True
        if record.deleted:
            # Staged even without a link: it cancels a live version of the record
            # staged earlier (on an earlier page, or by a run whose write failed).
            staged.append(
                InboxRow(
                    entity, side.system, record.id, global_id, None, record.stamp, deleted=True
                )
            )
            continue
        try:
            model = side.adapter.to_canonical(entity, record)
        except DataError as exc:
            side_rep.quarantined += 1
            bad.append(_quarantine_row(entity, side, record, exc))
            continue
        _note_unknown(rep, side, mapping.unknown_keys(record.payload))
        text = dumps(project(model, carried))
        if link is not None and link[1] == fingerprint(text):
            if raw is not None and link[1] is not None and link[2] != raw:
                hashed.append((record.id, link[1], raw))
            if side.caps.change_feed:
                side_rep.echoes += 1
            else:
                side_rep.unchanged += 1
            continue
        side_rep.staged += 1
        row = InboxRow(
            entity,
            side.system,
            record.id,
            global_id,
            text,
            record.stamp,
            new=new,
            version=record.version,
            raw_hash=raw,
        )
        if stamp is not None and stamp.copy_of is not None:
            copies.append(Copy(row, stamp))
        else:
            staged.append(row)
    return Translated(tuple(staged), tuple(bad), tuple(copies), tuple(hashed))


def _note_unknown(rep: Any, side: Side, unknown: set[str]) -> None:
    if unknown:
        known_list = rep.unknown_native_fields.setdefault(side.name, [])
        known_list.extend(sorted(unknown - set(known_list)))


def _quarantine_row(
    entity: str, side: Side, record: NativeRecord, exc: DataError
) -> dict[str, Any]:
    return {
        "entity": entity,
        "system": side.system,
        "native_id": record.id,
        "field": exc.field,
        "reason": str(exc),
        "payload": json.dumps(dict(record.payload), default=str, sort_keys=True)[:100_000],
    }
