"""FaultyAdapter: any adapter under a FaultPlan, so an integrator's adapter meets
the same faults as the fakes."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from crmerp._errors import TransientError
from crmerp.adapters import Adapter, Capabilities, NativeRecord, Page, WriteOp, WriteResult
from crmerp.testing._clock import FakeClock
from crmerp.testing._faults import FaultPlan, SimulatedCrash
from crmerp.testing._hostile import (
    batch_cut,
    dropped_mid_batch,
    normalised,
    note_written,
    refused_stale,
    shape_page,
    visible,
    visible_found,
)

__all__ = ["FaultyAdapter"]


class FaultyAdapter(Adapter):
    """``inner`` as the engine sees it when the system misbehaves as ``faults`` says.

    Every kind of :class:`FaultPlan` applies, decided before, around or after the
    call to ``inner``: transient errors, rate limits and stalls before it reaches
    the system; a batch cut short, stale answers and normalised payloads around
    it; feed and read-lag faults on what it answers; lost answers after it. Clock
    faults move ``clock`` (a :class:`FakeClock` of the wrapper's own unless one is
    given; the wrapped system's own clock is out of reach). ``faults`` may be
    replaced between runs; ``None`` passes every call through untouched::

        adapter = FaultyAdapter(MyAdapter(...), FaultPlan(seed=1, partial_apply=0.2))
        SyncEngine(crm=adapter, erp=other, state=state).run()
    """

    def __init__(
        self, inner: Adapter, faults: FaultPlan | None = None, *, clock: FakeClock | None = None
    ) -> None:
        self.inner = inner
        self.faults = faults
        self.clock = clock or FakeClock()
        # The wrapper is the system it wraps: same name, mappings and instance.
        object.__setattr__(self, "system", inner.system)
        object.__setattr__(self, "mappings", inner.mappings)
        self.instance_name = inner.instance_name

    def capabilities(self) -> Capabilities:
        """The wrapped adapter's capabilities."""
        self._hook("capabilities")
        return self.inner.capabilities()

    def read_page(
        self, entity: str, cursor: str | None, *, limit: int, signpost: str | None = None
    ) -> Page:
        """The wrapped adapter's page, as the plan's feed faults shape it."""
        self._begin("read")
        if signpost is not None and _takes_signpost(self.inner):
            page = self.inner.read_page(  # type: ignore[call-arg]
                entity, cursor, limit=limit, signpost=signpost
            )
        else:
            page = self.inner.read_page(entity, cursor, limit=limit)
        self._crash("read.page")
        if self.faults is None:
            return page
        self.faults.page_read(entity)
        return shape_page(self.faults, entity, cursor, page)

    def fetch(self, entity: str, ids: Sequence[str]) -> list[NativeRecord]:
        """The wrapped adapter's records, less those a lagging replica lacks."""
        self._begin("fetch")
        found = self.inner.fetch(entity, ids)
        return found if self.faults is None else visible(self.faults, entity, found)

    def find_by_reference(self, entity: str, references: Sequence[str]) -> dict[str, NativeRecord]:
        """The wrapped adapter's records by reference, less those a lagging replica lacks."""
        self._begin("find")
        found = self.inner.find_by_reference(entity, references)
        return found if self.faults is None else visible_found(self.faults, entity, found)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """The batch written by the wrapped adapter, as the plan's write faults allow."""
        self._begin("write")
        plan = self.faults
        if plan is None:
            return self.inner.write(entity, ops)
        cut = batch_cut(plan, ops)
        sent = list(ops[:cut])
        answers = [_record_failure(plan) or refused_stale(plan, op) for op in sent]
        passed = [normalised(plan, op) for op, a in zip(sent, answers, strict=True) if a is None]
        written = iter(self.inner.write(entity, passed) if passed else [])
        results = [a if a is not None else next(written) for a in answers]
        note_written(plan, entity, sent, results)
        if cut is not None:
            raise dropped_mid_batch(self.system, cut, len(ops))
        self._crash("write.after_commit")
        if plan.answer_lost():
            raise TransientError(
                f"{self.system} write: connection lost before the answer "
                "(injected; the batch was applied)"
            )
        return results

    def signpost(self, entity: str) -> str | None:
        """The wrapped adapter's signpost."""
        self._hook("signpost")
        return self.inner.signpost(entity)

    def instance(self) -> str:
        """The wrapped adapter's instance."""
        return self.inner.instance()

    def close(self) -> None:
        """Close the wrapped adapter."""
        self.inner.close()
        self._hook("close")

    def _begin(self, operation: str) -> None:
        if self.faults is not None:
            self.faults.begin_call(operation, self.system, self.clock)
        self._crash(f"{operation}.before")

    def _hook(self, hook: str) -> None:
        if self.faults is not None:
            self.faults.hook_call(hook, self.system)

    def _crash(self, point: str) -> None:
        if self.faults is not None and self.faults.crash_due(point):
            raise SimulatedCrash(point)


def _record_failure(plan: FaultPlan) -> WriteResult | None:
    """The injected per-record failure (``partial_failure``), if due."""
    outcome = plan.record_failure()
    if outcome == "retry":
        return WriteResult.retry("record locked by another user (injected)", plan.retry_after)
    if outcome == "failed":
        return WriteResult.failed("rejected by a validation rule (injected)")
    return None


def _takes_signpost(adapter: Adapter) -> bool:
    return "signpost" in inspect.signature(adapter.read_page).parameters
