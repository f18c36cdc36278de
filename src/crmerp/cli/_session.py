"""Building the engine the config describes, and closing everything afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from crmerp.cli._config import Config
from crmerp.match import ExactKeyMatcher, Matcher, Thresholds, default_matcher
from crmerp.state import StateStore, open_state
from crmerp.sync import SyncEngine

__all__ = ["make_matcher", "open_engine", "open_state_for", "sqlite_file"]


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` state URL (``None`` for other or in-memory states)."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path) if path and path != ":memory:" else None


def make_matcher(name: str, thresholds: Thresholds | None = None) -> Matcher | None:
    """The matcher called ``name`` in ``crmerp.toml``: ``probabilistic``, ``exact`` or ``none``.

    ``probabilistic`` matches customers with
    :class:`~crmerp.match.ProbabilisticMatcher` (names, VAT numbers, emails,
    phones, addresses), in the bands of ``thresholds`` (the ``[match]`` section),
    and products by their exact SKU or GTIN, the catalogue's own keys. ``exact``
    uses exact keys for both.
    """
    if name == "none":
        return None
    if name == "probabilistic":
        return default_matcher(thresholds)
    return ExactKeyMatcher()


@contextmanager
def open_state_for(
    config: Config, *, create: bool = False, rebaseline: bool = False
) -> Iterator[StateStore]:
    """The state the config names; closed on exit.

    A SQLite state in a folder that does not exist is a
    :class:`~crmerp.ConfigError` pointing at ``state.url`` in the config.
    """
    file = sqlite_file(config.state_url)
    if file is not None and not file.parent.is_dir():
        raise config.error(
            f"the folder {file.parent} of the state file does not exist; create it, "
            "or change url to a file in a folder that does",
            "state.url",
        )
    state = open_state(config.state_url, create=create, rebaseline=rebaseline)
    try:
        yield state
    finally:
        state.close()


@contextmanager
def open_engine(
    config: Config, *, progress: Callable[[str, str, int], None] | None = None, create: bool = False
) -> Iterator[SyncEngine]:
    """A :class:`~crmerp.sync.SyncEngine` on the config's adapters, state and rules.

    The adapters and the state are closed when the block ends, also on errors.
    """
    with ExitStack() as stack:
        state = stack.enter_context(open_state_for(config, create=create))
        crm = config.build_adapter("crm")
        stack.callback(crm.close)
        erp = config.build_adapter("erp")
        stack.callback(erp.close)
        yield SyncEngine(
            crm=crm,
            erp=erp,
            state=state,
            rules=config.rules,
            matcher=make_matcher(
                config.matcher, Thresholds(link=config.match_link, review=config.match_review)
            ),
            scope=config.scope,
            batch_size=config.batch_size,
            progress=progress,
        )
