"""The log: runs and the field-level audit trail of what changed, from where, by which rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, update

from crmerp.state._dialect import Session, aware, now
from crmerp.state._rows import AuditEntry
from crmerp.state._schema import audit, runs

__all__ = ["Log"]

_AUDIT_COLUMNS = ("entity", "global_id", "field", "old", "new", "origin", "rule")


class Log:
    """Runs and audit rows of one scope."""

    def __init__(self, session: Session, scope: str) -> None:
        self._s = session
        self._scope = scope

    def audit(self, run_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """Append field-level changes: entity, global_id, field, old, new, origin, rule."""
        if rows:
            fixed = {"scope": self._scope, "run_id": run_id, "at": now()}
            pick = itemgetter(*_AUDIT_COLUMNS)
            self._s.many_tuples(_audit_statement(), fixed, _AUDIT_COLUMNS, [pick(r) for r in rows])

    def audit_trail(self, global_id: str | None = None) -> list[dict[str, Any]]:
        """Audit rows, optionally for one record, oldest first."""
        query = select(audit).where(audit.c.scope == self._scope)
        if global_id is not None:
            query = query.where(audit.c.global_id == global_id)
        return [dict(r._mapping) for r in self._s.execute(query.order_by(audit.c.id))]

    def history(
        self,
        entity: str | None = None,
        global_id: str | None = None,
        *,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Field changes, newest first: of one record, of one run, or all of an entity."""
        c = audit.c
        query = select(audit).where(c.scope == self._scope)
        for column, value in ((c.entity, entity), (c.global_id, global_id), (c.run_id, run_id)):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [_change(r._mapping) for r in self._s.execute(query)]

    def start_run(self, run_id: str, mode: str) -> None:
        """Record that a run started."""
        self._s.execute(
            runs.insert().values(run_id=run_id, scope=self._scope, mode=mode, started_at=now())
        )

    def finish_run(self, run_id: str, report: str) -> None:
        """Record a run's report."""
        self._s.execute(
            update(runs).where(runs.c.run_id == run_id).values(finished_at=now(), report=report)
        )

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent runs, newest first: ``run_id``, ``mode``, ``started_at``
        and ``finished_at`` (timezone-aware UTC) and ``report`` (the run's
        :meth:`~crmerp.sync.SyncReport.to_dict`, ``None`` while it runs)."""
        rows = self._s.execute(
            select(runs)
            .where(runs.c.scope == self._scope)
            .order_by(runs.c.started_at.desc())
            .limit(limit)
        )
        return [_run(dict(r._mapping)) for r in rows]


def _change(row: Any) -> AuditEntry:
    return AuditEntry(
        entity=row["entity"],
        global_id=row["global_id"],
        field=row["field"],
        old=_decoded(row["old"]),
        new=_decoded(row["new"]),
        origin=row["origin"],
        rule=row["rule"],
        run_id=row["run_id"],
        at=aware(row["at"]) or now(),
    )


def _decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # written as text by an older release
        return text


def _run(row: dict[str, Any]) -> dict[str, Any]:
    report = row.get("report")
    if isinstance(report, str):
        with suppress(json.JSONDecodeError):  # one written by hand or an old release
            row["report"] = json.loads(report)
    for key in ("started_at", "finished_at"):
        if key in row:
            row[key] = aware(row[key])
    return row


@lru_cache(maxsize=1)
def _audit_statement() -> Any:
    columns = ("scope", "run_id", "at", "entity", "global_id", "field", "old", "new", "origin")
    return audit.insert().values({c: bindparam(c) for c in (*columns, "rule")})
