"""Apply: the staged changes of one entity, batch by batch, through the stages.

gather (links, bases, fresh reads, references) -> plan (pure: writes, waits,
records set aside) -> write (re-check, intents, conditional writes, answers) ->
commit (one transaction). A group whose write failed keeps its staged rows and
its old base, so the next pass redoes exactly what is left.
"""

from __future__ import annotations

from crmerp.sync._commit import commit
from crmerp.sync._context import RunContext
from crmerp.sync._gather import gather
from crmerp.sync._plan import plan_group
from crmerp.sync._write import write

__all__ = ["apply"]


def apply(ctx: RunContext, entity: str) -> None:
    """Merge and write every staged group of ``entity``."""
    after: str | None = None
    while True:
        with ctx.tx() as tx:
            rows = tx.inbox.groups(entity, after, ctx.batch_size)
        if not rows:
            return
        after = rows[-1].global_id
        facts, groups = gather(ctx, entity, rows)
        if not groups:
            continue
        plans = [plan_group(facts, group) for group in groups]
        ctx.boundary("merge")
        sent = write(ctx, entity, plans)
        commit(ctx, entity, plans, [group.rows for group in groups], sent)
