"""The state store: opening a state, and transactions bound to a scope."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import DatabaseError, OperationalError

from crmerp._errors import StateCorrupt, StateError, StateRestored, TransientError
from crmerp.state._dialect import Session, now
from crmerp.state._open import connect, sidecar_path
from crmerp.state._schema import cursors, meta
from crmerp.state._statistics import GrowthTracker
from crmerp.state._tx import StateTx

__all__ = ["StateStore", "open_state", "set_meta"]


def open_state(url: str, *, create: bool = False, rebaseline: bool = False) -> StateStore:
    """Open the durable sync state at ``url``.

    ``sqlite:///path`` (the embedded default) or ``postgresql://user@host/db``.
    A state that is not there raises :class:`~crmerp.StateMissing` unless
    ``create`` is true; a damaged one :class:`~crmerp.StateCorrupt`; one written by a
    newer crmerp :class:`~crmerp.StateVersionError`. It is never taken for a first run.

    A SQLite state older than its last commit (restored from a backup, or made
    anew after the file was lost) is refused with :class:`~crmerp.StateRestored`
    unless ``rebaseline`` is true, which accepts it and forgets its cursors so the
    next run re-reads everything and repairs links by the references stamped on
    records; :attr:`StateStore.rebaselined` then says so. On a state that is not
    behind, ``rebaseline`` does nothing.
    """
    engine = connect(url, create=create)
    store = StateStore(engine, url)
    try:
        store._check_generation(rebaseline=rebaseline)
    except BaseException:
        engine.dispose()
        raise
    return store


_LOST = (
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "connection refused",
    "connection failed",
    "could not connect",
    "the database system is shutting down",
    "the database system is starting up",
)
_FULL = ("database or disk is full", "no space left on device", "disk full")


def _named(exc: DatabaseError) -> StateError | TransientError:
    """The error a failed state transaction stops with, by what the caller should do.

    A lost connection (the server restarted, or killed it) is a
    :class:`~crmerp.TransientError`: nothing of the transaction was committed and
    the next run goes on. A full disk is a :class:`~crmerp.StateError` a person
    must see to, not damage. Anything else means the state cannot be read:
    :class:`~crmerp.StateCorrupt`.
    """
    message = str(exc.orig).lower()
    if exc.connection_invalidated or any(m in message for m in _LOST):
        return TransientError(f"state connection lost, nothing committed: {exc.orig}")
    if any(m in message for m in _FULL):
        return StateError(f"state storage is full, nothing committed: {exc.orig}")
    return StateCorrupt(f"state became unreadable: {exc.orig}")


class StateStore:
    """Durable sync state behind one SQLAlchemy engine. Use :func:`open_state`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name
        self._sidecar = sidecar_path(url)
        self.growth = GrowthTracker(engine) if self.dialect == "postgresql" else None
        self.rebaselined = False
        """Whether opening it accepted a state older than its last commit (``rebaseline``)."""

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, scope: str) -> Iterator[StateTx]:
        """One transaction bound to ``scope``: everything done through it commits
        or none does."""
        with self._session() as session:
            yield StateTx(session, scope)

    def bind(self, conn: Connection, scope: str) -> StateTx:
        """A transaction of ``scope`` on a connection the caller holds (a plan's,
        rolled back at its end); the caller commits or rolls back."""
        return StateTx(Session(conn, self.growth), scope)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        new_generation = None
        try:
            with self.engine.begin() as conn:
                session = Session(conn, self.growth)
                yield session
                if session.bumps_generation:
                    new_generation = _bump_generation(session)
        except (DatabaseError, OperationalError) as exc:
            if "locked" in str(exc.orig).lower():
                raise
            raise _named(exc) from exc
        if self._sidecar is not None and new_generation is not None:
            _write_atomic(self._sidecar, str(new_generation))
        if self.growth is not None:
            self.growth.after_commit()

    def meta(self, key: str) -> str | None:
        """A value of the state's meta table (schema version, generation)."""
        with self._session() as session:
            return _meta(session, key)

    def _check_generation(self, *, rebaseline: bool) -> None:
        if self._sidecar is None or not self._sidecar.exists():
            return
        with self._session() as session:
            stored = int(_meta(session, "generation") or 0)
            marker = int(self._sidecar.read_text().strip() or 0)
            if stored >= marker:
                return
            if not rebaseline:
                raise StateRestored(
                    f"state generation {stored} is older than its last commit ({marker}): "
                    "it was restored from a backup, or made anew after the file was lost. "
                    "If so, accept it with `crmerp state rebaseline` (in code: "
                    "open_state(url, rebaseline=True)); the next run re-reads both systems "
                    "and repairs links by the references stamped on records",
                    generation=stored,
                    marker=marker,
                )
            self.rebaselined = True
            session.execute(delete(cursors))
            set_meta(session, "generation", str(marker))
            set_meta(session, "rebaselined_at", now().isoformat())


def _meta(session: Session, key: str) -> str | None:
    value = session.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return None if value is None else str(value)


def set_meta(session: Session, key: str, value: str) -> None:
    """Set a value in the meta table."""
    session.upsert(meta, [{"key": key, "value": value}], ["key"], ["value"])


def _bump_generation(session: Session) -> int:
    current = int(_meta(session, "generation") or 0) + 1
    set_meta(session, "generation", str(current))
    return current


def _write_atomic(path: os.PathLike[str], content: str) -> None:
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
