"""The one error tree of crmerp, split by what the caller should do about it.

::

    CrmErpError
    ├── DataError (also ValueError)     bad data: quarantine the record, go on with the rest
    │   ├── InvalidRecord               a native or canonical record failed validation
    │   ├── CurrencyMismatch            arithmetic or comparison across two currencies
    │   ├── TotalsMismatch              a stated total differs from the computed one
    │   ├── IllegalTransition           a lifecycle status change the enum does not allow
    │   └── MappingError                a payload the declared field map cannot translate
    ├── UsageError                      misuse by the developer: fix the calling code or config
    │   └── ConfigError                 a bad config or rules file (names file, line and key)
    ├── RetryableError                  the same call may succeed later
    │   ├── TransientError              a timeout, a dropped connection, a 5xx
    │   ├── RateLimited                 the system asked to wait ``retry_after`` seconds
    │   └── RetryBudgetExceeded         waiting as told would exceed the configured budget
    └── FatalError                      stop the run; a person must look
        ├── StateError                  durable sync state is unusable
        │   ├── StateMissing            the state was expected but is not there
        │   ├── StateCorrupt            the state cannot be read or fails its checks
        │   │   └── StateRestored       the state is older than its last commit: rebaseline it
        │   └── StateVersionError       the state was written by a newer crmerp
        ├── LeaseHeld                   another worker holds the unit of work: try later
        ├── LeaseLost                   another worker took the unit over: stop, write nothing more
        └── AdapterError                an adapter broke its contract

Every error carries the context that caused it as attributes, so a handler never
has to parse a message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = [
    "AdapterError",
    "ConfigError",
    "CrmErpError",
    "CurrencyMismatch",
    "DataError",
    "FatalError",
    "IllegalTransition",
    "InvalidRecord",
    "LeaseHeld",
    "LeaseLost",
    "MappingError",
    "RateLimited",
    "RetryBudgetExceeded",
    "RetryableError",
    "StateCorrupt",
    "StateError",
    "StateMissing",
    "StateRestored",
    "StateVersionError",
    "TotalsMismatch",
    "TransientError",
    "UsageError",
]


class CrmErpError(Exception):
    """Base of every error raised by crmerp."""


class DataError(CrmErpError, ValueError):
    """A record's data is wrong. The record is quarantined; the run goes on.

    Attributes name where the problem is: ``entity``, ``field``, ``value`` and, once
    known, the ``system`` and ``native_id`` the record came from.
    """

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        field: str | None = None,
        value: Any = None,
        system: str | None = None,
        native_id: str | None = None,
    ) -> None:
        self.entity = entity
        self.field = field
        self.value = value
        self.system = system
        self.native_id = native_id
        self.reason = message
        super().__init__(self._render(message))

    def _render(self, message: str) -> str:
        where = [
            f"{name}={val!r}"
            for name, val in (
                ("system", self.system),
                ("entity", self.entity),
                ("native_id", self.native_id),
                ("field", self.field),
            )
            if val is not None
        ]
        return f"{message} ({', '.join(where)})" if where else message


class InvalidRecord(DataError):
    """A record failed validation; ``errors`` lists each problem as a dict."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        **where: Any,
    ) -> None:
        self.errors = errors or []
        super().__init__(message, **where)


class CurrencyMismatch(DataError):
    """Two amounts in different currencies met in one operation."""


class TotalsMismatch(DataError):
    """A total given from outside differs from the one computed from the lines."""

    def __init__(self, message: str, *, difference: Decimal, **where: Any) -> None:
        self.difference = difference
        super().__init__(message, **where)


class IllegalTransition(DataError):
    """A status may not move from ``current`` to ``target``."""

    def __init__(self, current: str, target: str, *, entity: str | None = None) -> None:
        self.current = current
        self.target = target
        super().__init__(
            f"illegal status transition {current!r} -> {target!r}",
            entity=entity,
            field="status",
            value=target,
        )


class MappingError(DataError):
    """A native payload could not be translated by its field map."""


class UsageError(CrmErpError):
    """The library was called wrongly. ``code`` is stable and can be searched for."""

    def __init__(self, message: str, *, code: str = "usage") -> None:
        self.code = code
        super().__init__(f"{message} [{code}]")


class ConfigError(UsageError):
    """A config or rules file is wrong; ``path``, ``line`` and ``key`` say where."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        where = ":".join(str(p) for p in (path, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (key {key!r})" if key else ""
        super().__init__(f"{prefix}{message}{suffix}", code="config")


class RetryableError(CrmErpError):
    """The call failed but may succeed if repeated later."""


class TransientError(RetryableError):
    """A timeout, dropped connection or server-side hiccup."""


class RateLimited(RetryableError):
    """The system asked the caller to wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"{message} (retry after {retry_after:g}s)")


class RetryBudgetExceeded(RetryableError):
    """Waiting as the system asked would exceed the run's retry budget."""


class FatalError(CrmErpError):
    """The run cannot go on safely."""


class StateError(FatalError):
    """Durable sync state is unusable."""


class StateMissing(StateError):
    """State that should exist is not there; never taken for a first run."""


class StateCorrupt(StateError):
    """State exists but cannot be read or fails its integrity checks."""


class StateRestored(StateCorrupt):
    """The state is older than its last commit: restored from a backup, or made anew
    after its file was lost (its generation marker stayed behind).

    Accept it with ``open_state(url, rebaseline=True)`` (``crmerp state
    rebaseline``): the next run re-reads both systems and repairs links by the
    references stamped on records. ``generation`` is the state's, ``marker`` the
    generation of the last commit.
    """

    def __init__(self, message: str, *, generation: int, marker: int) -> None:
        self.generation = generation
        self.marker = marker
        super().__init__(message)


class StateVersionError(StateError):
    """State was written by a schema version this crmerp does not know."""


class LeaseHeld(FatalError):
    """Another worker holds the lease on this sync scope (or one unit of work in it).

    ``holder`` is that worker's ``worker_id``, ``instance`` the engine instance
    (host, process and a nonce) that holds it, ``unit`` the unit's key.
    """

    def __init__(
        self,
        scope: str,
        holder: str,
        expires_at: str,
        *,
        unit: str | None = None,
        instance: str | None = None,
    ) -> None:
        self.scope = scope
        self.holder = holder
        self.expires_at = expires_at
        self.unit = unit
        self.instance = instance
        what = f"unit {unit!r} of sync scope {scope!r}" if unit else f"sync scope {scope!r}"
        by = f"worker {holder!r}" + (f" (instance {instance})" if instance else "")
        super().__init__(f"{what} is leased by {by} until {expires_at}")


class LeaseLost(FatalError):
    """Another worker took over a unit of work this run was working on: stop now.

    Raised inside the state transaction that found it, so that transaction wrote
    nothing; the run sends no further remote write. ``token`` is the fencing token
    this run took, ``current_token`` and ``holder`` what the lease shows now
    (``None`` when the lease row is gone).
    """

    def __init__(
        self,
        scope: str,
        unit: str,
        token: int,
        *,
        holder: str | None,
        current_token: int | None,
    ) -> None:
        self.scope = scope
        self.unit = unit
        self.token = token
        self.holder = holder
        self.current_token = current_token
        now = f"worker {holder!r} holds it with token {current_token}" if holder else "it is gone"
        super().__init__(
            f"lost the lease on unit {unit!r} of sync scope {scope!r} (took token {token}; "
            f"{now}); stopping before writing again"
        )


class AdapterError(FatalError):
    """An adapter broke its contract (wrong answer count, unknown id, an exception
    outside this tree, ...).

    ``call`` names the adapter call that failed (``"read fake-crm customer"``)
    when the engine knows it; an exception the adapter raised is the ``__cause__``.
    """

    def __init__(self, message: str, *, call: str | None = None) -> None:
        super().__init__(message)
        self.call = call


# Shown as ``crmerp.StateMissing`` (in tracebacks, reprs and the docs), where users
# import them from, not as the private module that defines them.
for _name in __all__:
    globals()[_name].__module__ = "crmerp"
del _name
