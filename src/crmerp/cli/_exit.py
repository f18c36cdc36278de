"""Exit codes scripts can rely on.

====  ================================================================
code  meaning
====  ================================================================
0     done, nothing waits for a person
1     failure: the command could not do its work (message on stderr)
2     usage error: unknown command or option, bad argument
3     conflicts are open: parked fields or matches wait for review
4     records are quarantined (and no conflict is open)
====  ================================================================

Precedence: 1 and 2 win over everything; 3 wins over 4. Commands that report on
a scope (``plan``, ``sync``, ``status``, ``conflicts list``, ``quarantine list``)
use 3 and 4; commands that change something (``init``, ``conflicts resolve``,
``quarantine retry``) and ``demo`` exit 0 when they did it.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode", "outcome"]


class ExitCode(IntEnum):
    """The exit status of the ``crmerp`` command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFLICTS = 3
    QUARANTINE = 4


def outcome(open_conflicts: int, quarantined: int) -> ExitCode:
    """The exit code for a scope with these open conflicts and quarantined records.

    >>> outcome(0, 0).name, outcome(2, 5).name, outcome(0, 1).name
    ('OK', 'CONFLICTS', 'QUARANTINE')
    """
    if open_conflicts:
        return ExitCode.CONFLICTS
    if quarantined:
        return ExitCode.QUARANTINE
    return ExitCode.OK
