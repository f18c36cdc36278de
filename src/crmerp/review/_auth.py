"""Who is asking: HTTP basic auth against one shared token or a table of users."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request

__all__ = ["Gate"]

_REALM = {"WWW-Authenticate": 'Basic realm="crmerp review", charset="UTF-8"'}


class Gate:
    """Lets a request in when it carries the token or a user's password.

    With ``token``, any user name is accepted with the token as password (the
    name is what the audit trail records), and ``Authorization: Bearer <token>``
    is accepted for programs (recorded as ``token``). With ``users``, each name
    has its own password.
    """

    def __init__(self, *, token: str | None, users: Mapping[str, str] | None) -> None:
        if not token and not users:
            raise ValueError("the review page needs a token or users; it is never open")
        self._token = token
        self._users = dict(users or {})

    def user(self, request: Request) -> str:
        """The name of the person asking; 401 when they cannot say who they are."""
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and self._token and _same(credentials, self._token):
            return "token"
        if scheme.lower() == "basic":
            name, password = _basic(credentials)
            if name and self._allowed(name, password):
                return name
        raise HTTPException(401, "who are you? log in with your name and the token", _REALM)

    def _allowed(self, name: str, password: str) -> bool:
        if name in self._users:
            return _same(password, self._users[name])
        return bool(self._token) and _same(password, self._token or "")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    name, _, password = decoded.partition(":")
    return name.strip(), password
