"""Progress bars on stderr, fed by the engine's ``progress(entity, step, count)`` callback."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["RunProgress"]


class RunProgress:
    """A bar per entity and step (``read crm``, ``read erp``, ``apply``).

    ``totals`` maps ``(entity, step)`` to the count expected, when known; other
    steps show a running count. Disabled (a no-op callback) when ``enabled`` is
    false or stderr is not a terminal, so logs and pipes stay clean.

    >>> with RunProgress(Console(), enabled=False) as progress:
    ...     progress("customer", "read crm", 10)
    """

    def __init__(
        self,
        console: Console,
        *,
        totals: Mapping[tuple[str, str], int] | None = None,
        enabled: bool = True,
    ) -> None:
        self.totals = dict(totals or {})
        self.enabled = enabled and console.is_terminal
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.done: dict[tuple[str, str], int] = {}
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not self.enabled,
        )

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.enabled:
            self.progress.stop()

    def __call__(self, entity: str, step: str, count: int) -> None:
        """Advance the bar of ``entity``'s ``step`` by ``count``."""
        if not self.enabled:
            return
        key = (entity, step)
        task = self.tasks.get(key)
        if task is None:
            task = self.progress.add_task(f"{entity} {step}", total=self.totals.get(key))
            self.tasks[key] = task
        self.done[key] = self.done.get(key, 0) + count
        total = self.totals.get(key)
        if total is not None and self.done[key] > total:  # more than expected: grow the bar
            total = self.done[key]
        self.progress.update(task, completed=self.done[key], total=total)
