"""A griffe extension for the API reference: Sphinx roles in docstrings shown as code.

The docstrings use reStructuredText roles (``:class:`~crmerp.sync.SyncEngine```,
``:meth:`run```) and double-backtick literals, which Markdown would print as they
are. This turns each role into inline code of the name (its last part after a
``~``) and each ````literal```` into ```literal```.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` with roles and reST literals as Markdown inline code."""

    def role(found: re.Match[str]) -> str:
        name = found.group(2).strip()
        return f"`{name.rsplit('.', 1)[-1] if found.group(1) else name}`"

    return _LITERAL.sub(r"`\1`", _ROLE.sub(role, text))


class RolesAsCode(griffe.Extension):
    """Rewrites every docstring once the object tree is built."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Convert the docstring of ``obj``, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
