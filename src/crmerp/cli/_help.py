"""How ``--help`` shows options: a flag takes no value, so no type is shown after it.

typer's rich help prints the type of every option, ``<bool>`` after flags too
(``--json <bool>``), which reads as if the flag wanted a value. These command
classes blank the metavar of every flag, ``--help`` included, before the help is
drawn.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup

__all__ = ["Command", "Group"]


def _blank_flags(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose help shows no type after flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The command's parameters, flags without a metavar."""
        return _blank_flags(list(super().get_params(ctx)))


class Group(TyperGroup):
    """A group of commands whose help shows no type after flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's parameters, flags without a metavar."""
        return _blank_flags(list(super().get_params(ctx)))
