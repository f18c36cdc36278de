"""``crmerp state``: commands on the sync state itself (today: rebaseline)."""

from __future__ import annotations

from crmerp.cli._commands import ConfigOption, DebugOption, JsonOption, _loaded
from crmerp.cli._output import Output

__all__ = ["state_rebaseline"]


def state_rebaseline(
    config: ConfigOption = None, as_json: JsonOption = False, debug: DebugOption = False
) -> None:
    """Accept a state that is older than its last commit, so syncs can go on.

    Use it after the state file was restored from a backup, or lost and made
    anew with `crmerp init`: crmerp refuses such a state rather than take it for
    the truth. Rebaselining forgets the state's cursors, so the next `crmerp
    sync` re-reads both systems in full and links records again by the
    references crmerp stamped on them; nothing is created twice. On a state that
    is not behind it changes nothing.
    """
    from crmerp.cli._session import open_state_for

    out = Output(as_json=as_json, debug=debug)
    with out.guarded():
        loaded = _loaded(out, config)
        with open_state_for(loaded, rebaseline=True) as state:
            done = state.rebaselined
        where = loaded.redact(loaded.state_url)
        if done:
            out.show(
                f"State at {where} accepted. The next sync re-reads both systems: "
                f"{out.command('sync')}"
            )
        else:
            out.show(f"State at {where} is not behind its last commit; nothing to do.")
        out.json({"state": where, "rebaselined": done})
