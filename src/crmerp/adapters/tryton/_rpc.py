"""A small, typed JSON-RPC client for a Tryton (trytond 8.x) server.

Wire format, as read from ``trytond/protocols/jsonrpc.py`` and
``trytond/protocols/dispatcher.py`` of trytond 8.2:

* Every call is ``POST {url}/{database}/rpc/`` with the JSON body
  ``{"id": n, "method": "...", "params": [...]}``. Server-wide methods
  (``common.server.version``, ``common.db.list``) go to ``POST {url}/rpc/``.
* ``common.db.login`` takes ``[login, {"password": ...}, language]`` and answers
  ``[user_id, session_token, bus_url]``. Later calls carry the header
  ``Authorization: Session base64("login:user_id:token")``.
* Model methods are ``model.<model name>.<method>``; the **last positional
  parameter is always the context dict** (the server refuses a call without one).
* Values Tryton cannot express in JSON travel as tagged objects:
  ``{"__class__": "Decimal", "decimal": "1.50"}``, ``datetime`` (naive, UTC),
  ``date``, ``time``, ``timedelta`` (``seconds``) and ``bytes`` (``base64``).
* A server-side exception comes back with HTTP 200 and an ``error`` member:
  ``["UserError", [message, description, domain]]``,
  ``["UserWarning", [name, message, description]]``,
  ``["ConcurrencyException", message]``,
  ``["LoginException", [name, message, type]]`` or, for any other exception,
  ``[str(exception), traceback]``. Refusals made before dispatch are plain HTTP
  statuses: 401 (bad login, expired session), 403 (method not exposed), 404
  (unknown database), 429 (login rate limit), 503/504 (database busy, timeout).

Every exception raised here is also a crmerp error (see the tree above
:class:`TrytonRPCError`): transport problems are :class:`~crmerp.TransientError`,
429 and 503-with-``Retry-After`` are :class:`~crmerp.RateLimited`, a Tryton
``UserError`` is a :class:`~crmerp.DataError`, a refused login is a
:class:`~crmerp.FatalError` and anything else the server raises is an
:class:`~crmerp.AdapterError`.

Sessions expire after ``[session] timeout`` seconds of inactivity (300 by
default); the client logs in again once, transparently, when a call is refused
with 401 after a successful login.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import httpx

from crmerp._errors import (
    AdapterError,
    CrmErpError,
    DataError,
    FatalError,
    RateLimited,
    TransientError,
)
from crmerp.adapters.http import DEFAULT_RETRY_AFTER, retry_after

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "TrytonAuthError",
    "TrytonConcurrencyError",
    "TrytonFault",
    "TrytonHTTPError",
    "TrytonRPC",
    "TrytonRPCError",
    "TrytonRateLimited",
    "TrytonServerFault",
    "TrytonTransportError",
    "TrytonUserError",
    "TrytonUserWarning",
    "decode_value",
    "dumps",
    "encode_value",
    "loads",
]

_UTC: Final = dt.UTC


# --------------------------------------------------------------------------- errors
#
# Every error is also a member of the crmerp error tree, so the engine can act on
# it without knowing Tryton:
#
#   TrytonRPCError (CrmErpError)
#   ├── TrytonTransportError   + TransientError   no usable answer: retry later
#   ├── TrytonRateLimited      + RateLimited      429, or 503 with Retry-After
#   ├── TrytonAuthError        + FatalError       login refused: fix the credentials
#   ├── TrytonHTTPError        + AdapterError     404, 413, 422: config or a bug
#   └── TrytonFault                               the method ran and raised
#       ├── TrytonUserError        + DataError        the record's data was refused
#       ├── TrytonUserWarning      + DataError        a warning needing a person
#       ├── TrytonConcurrencyError + TransientError   changed meanwhile: re-read, retry
#       └── TrytonServerFault      + AdapterError     any other server exception


class TrytonRPCError(CrmErpError):
    """Base of every error raised by :class:`TrytonRPC`.

    ``method`` names the RPC method that failed (``None`` when unknown).
    """

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method


class TrytonTransportError(TrytonRPCError, TransientError):
    """The call did not get a usable answer: connection refused or dropped, a
    timeout, a 5xx status or a body that is not JSON. Retrying later may help.

    ``status_code`` is the HTTP status when there was one.
    """

    def __init__(
        self, message: str, *, method: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code


class TrytonRateLimited(TrytonRPCError, RateLimited):
    """HTTP 429 (too many login attempts), or 503 with a ``Retry-After`` header.

    ``retry_after`` is the ``Retry-After`` header in seconds, or
    :data:`DEFAULT_RETRY_AFTER` when the server sent none.
    """

    def __init__(
        self, message: str, *, method: str | None = None, retry_after: float | None = None
    ) -> None:
        # RateLimited needs ``retry_after``; the cooperative chain through
        # TrytonRPCError cannot pass it, so initialise the crmerp side directly.
        RateLimited.__init__(
            self, message, retry_after=DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        )
        self.message = message
        self.method = method


class TrytonAuthError(TrytonRPCError, FatalError):
    """Login refused (wrong login or password, more login parameters required) or
    a call refused with 401/403 even after logging in again.

    ``status_code`` is the HTTP status when the refusal was one.
    """

    def __init__(
        self, message: str, *, method: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code


class TrytonHTTPError(TrytonRPCError, AdapterError):
    """Any other non-2xx HTTP status (404 unknown database, 413 too large, 422
    malformed call, ...). Usually a bug in the calling code or configuration."""

    def __init__(self, message: str, *, method: str | None = None, status_code: int) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code


class TrytonFault(TrytonRPCError):
    """The server ran the method and it raised. ``kind`` is the exception name
    Tryton reported (``"UserError"``, ``"UserWarning"``, ...), ``description``
    the optional detail and ``error`` the raw, decoded ``error`` member."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        kind: str,
        description: str = "",
        error: Any = None,
    ) -> None:
        super().__init__(message, method=method)
        self.kind = kind
        self.description = description
        self.error = error

    def __str__(self) -> str:
        if self.description:
            return f"{self.message} - {self.description}"
        return self.message


class TrytonUserError(TrytonFault, DataError):
    """A ``UserError``: the data broke a constraint, a required field is missing,
    a record is in the wrong state for the action, ... ``domain`` is the
    offending domain Tryton attached, if any."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        description: str = "",
        domain: Any = None,
        error: Any = None,
    ) -> None:
        super().__init__(
            message, method=method, kind="UserError", description=description, error=error
        )
        self.domain = domain


class TrytonUserWarning(TrytonFault, DataError):
    """A ``UserWarning`` the interactive client would ask the user to confirm.
    ``name`` is the warning key (it can be pre-accepted through ``res.user.warning``)."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        name: str,
        description: str = "",
        error: Any = None,
    ) -> None:
        super().__init__(
            message, method=method, kind="UserWarning", description=description, error=error
        )
        self.name = name


class TrytonConcurrencyError(TrytonFault, TransientError):
    """A ``ConcurrencyException``: the record changed since the ``_timestamp``
    given in the context."""


class TrytonServerFault(TrytonFault, AdapterError):
    """Any other exception raised on the server (a bug or an unexpected state).
    ``traceback`` holds the server's traceback text when it sent one (only in
    ``--dev`` mode)."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        kind: str = "Exception",
        traceback: str = "",
        error: Any = None,
    ) -> None:
        super().__init__(message, method=method, kind=kind, error=error)
        self.traceback = traceback


# ---------------------------------------------------------------------- the codec


def encode_value(value: Any) -> Any:
    """Turn one Python value into Tryton's JSON form, recursively.

    ``Decimal``, ``datetime``, ``date``, ``time``, ``timedelta`` and ``bytes``
    become tagged objects. A timezone-aware ``datetime`` is converted to UTC; a
    naive one is taken to be UTC already (Tryton stores naive UTC). Tuples and
    sets become lists; mappings are encoded value by value.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_UTC).replace(tzinfo=None)
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__class__": "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode_value(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__} for Tryton JSON-RPC")


def _decode_object(obj: dict[str, Any]) -> Any:
    """``json.loads`` object hook: rebuild the tagged types, leave the rest."""
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "Decimal":
        return Decimal(str(obj["decimal"]))
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
            tzinfo=_UTC,
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def decode_value(value: Any) -> Any:
    """Rebuild tagged objects inside an already-parsed JSON value, recursively.

    Datetimes come back timezone-aware in UTC.
    """
    if isinstance(value, dict):
        return _decode_object({k: decode_value(v) for k, v in value.items()})
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Serialise ``value`` to Tryton's JSON (see :func:`encode_value`)."""
    return json.dumps(encode_value(value), separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """Parse Tryton's JSON, rebuilding tagged objects (see :func:`decode_value`)."""
    return json.loads(text, object_hook=_decode_object)


# --------------------------------------------------------------------- the client


def _fault_from_error(error: Any, method: str) -> TrytonRPCError:
    """Map the ``error`` member of a JSON-RPC answer onto an exception."""
    if isinstance(error, list | tuple) and error and isinstance(error[0], str):
        kind = error[0]
        payload: Any = error[1] if len(error) > 1 else None
        if kind == "UserError":
            parts = list(payload) if isinstance(payload, list | tuple) else [payload]
            parts += [None] * (3 - len(parts))
            return TrytonUserError(
                str(parts[0] or "UserError"),
                method=method,
                description=str(parts[1] or ""),
                domain=parts[2],
                error=error,
            )
        if kind == "UserWarning":
            parts = list(payload) if isinstance(payload, list | tuple) else [payload]
            parts += [None] * (3 - len(parts))
            return TrytonUserWarning(
                str(parts[1] or "UserWarning"),
                method=method,
                name=str(parts[0] or ""),
                description=str(parts[2] or ""),
                error=error,
            )
        if kind == "ConcurrencyException":
            return TrytonConcurrencyError(
                str(payload or "Concurrency error"),
                method=method,
                kind=kind,
                error=error,
            )
        if kind == "LoginException":
            parts = list(payload) if isinstance(payload, list | tuple) else [payload]
            parts += [None] * (2 - len(parts))
            return TrytonAuthError(
                f"login needs parameter {parts[0]!r}: {parts[1] or ''}".rstrip(": "),
                method=method,
            )
        if kind == "RateLimitException":
            return TrytonRateLimited("too many requests", method=method)
        # Any other exception: ``[str(exception), traceback]``.
        traceback = payload if isinstance(payload, str) else ""
        return TrytonServerFault(kind, method=method, traceback=traceback, error=error)
    return TrytonServerFault(repr(error), method=method, error=error)


class TrytonRPC:
    """A session with one database of a Tryton server over JSON-RPC.

    ``url`` is the server root (``http://127.0.0.1:8000``), ``database`` the
    database name. Use it as a context manager, or call :meth:`close`::

        with TrytonRPC(url, "crmerp", "admin", "secret") as rpc:
            ids = rpc.model("party.party", "search", [("name", "=", "ACME")], 0, None, None)

    :meth:`login` happens on the first call if not called explicitly. After login
    the user's preferences (``company``, ``language``, ...) become the base
    context merged into every :meth:`model` call; without ``company`` in the
    context, records such as sales get no default company.

    ``client`` may be given to reuse or mock an :class:`httpx.Client`; the
    instance then does not close it.
    """

    def __init__(
        self,
        url: str,
        database: str,
        username: str,
        password: str,
        *,
        timeout: float = 30.0,
        language: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.username = username
        self._password = password
        self.language = language
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)
        self._user_id: int | None = None
        self._session: str | None = None
        self._context: dict[str, Any] = {}

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> TrytonRPC:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "logged in" if self._session else "logged out"
        return f"TrytonRPC({self.url!r}, {self.database!r}, {self.username!r}, {state})"

    @property
    def rpc_url(self) -> str:
        """The database's JSON-RPC endpoint, ``{url}/{database}/rpc/``."""
        return f"{self.url}/{self.database}/rpc/"

    @property
    def user_id(self) -> int | None:
        """The logged-in user's id, or ``None`` before login."""
        return self._user_id

    @property
    def context(self) -> dict[str, Any]:
        """A copy of the base context (the user's preferences after login)."""
        return dict(self._context)

    def close(self) -> None:
        """Log out (best effort) and close the HTTP client if this instance owns it."""
        try:
            if self._session is not None:
                with contextlib.suppress(TrytonRPCError):
                    self._post(self.rpc_url, "common.db.logout", [], authenticated=True)
        finally:
            self._session = None
            self._user_id = None
            if self._own_client:
                self._client.close()

    # -- authentication ------------------------------------------------------------

    def login(self) -> int:
        """Log in with the password, load the user's preferences as base context,
        and return the user id.

        Raises :class:`TrytonAuthError` if refused, :class:`TrytonRateLimited`
        after too many failures, :class:`TrytonHTTPError` (404) for an unknown
        database.
        """
        result = self._post(
            self.rpc_url,
            "common.db.login",
            [self.username, {"password": self._password}, self.language],
            authenticated=False,
        )
        if not isinstance(result, list) or len(result) < 2:
            raise TrytonTransportError(
                f"unexpected login answer: {result!r}", method="common.db.login"
            )
        self._user_id = int(result[0])
        self._session = str(result[1])
        preferences = self._post(
            self.rpc_url, "model.res.user.get_preferences", [True, {}], authenticated=True
        )
        self._context = dict(preferences) if isinstance(preferences, dict) else {}
        return self._user_id

    def _authorization(self) -> str:
        token = f"{self.username}:{self._user_id}:{self._session}".encode()
        return "Session " + base64.b64encode(token).decode("ascii")

    # -- calls --------------------------------------------------------------------

    def server_version(self) -> str:
        """``common.server.version``: the server's series, e.g. ``"8.2"`` (no login)."""
        return str(self._post(f"{self.url}/rpc/", "common.server.version", [], False))

    def call(self, method: str, *params: Any) -> Any:
        """Call any database method with positional ``params`` exactly as given.

        For ``model.*`` methods the context must be the last parameter; prefer
        :meth:`model`, which adds it. Logs in first if needed, and logs in again
        once if the session expired.
        """
        if self._session is None:
            self.login()
        try:
            return self._post(self.rpc_url, method, list(params), authenticated=True)
        except TrytonAuthError as exc:
            if exc.status_code != 401:
                raise
        self.login()
        return self._post(self.rpc_url, method, list(params), authenticated=True)

    def model(
        self,
        name: str,
        method: str,
        *args: Any,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call ``model.<name>.<method>(*args, context)``.

        The context sent is the base context (user preferences) updated with
        ``context``. Example: ``rpc.model("sale.sale", "confirm", [sale_id])``.
        """
        if self._session is None:
            self.login()
        merged = dict(self._context)
        if context:
            merged.update(context)
        return self.call(f"model.{name}.{method}", *args, merged)

    # -- thin helpers over the common ModelStorage methods ----------------------

    def create(
        self,
        name: str,
        values: Sequence[Mapping[str, Any]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """``create``: make records from value dicts; returns their ids in order.

        One2many values use Tryton's action lists, e.g.
        ``{"lines": [("create", [{...}, {...}])]}``.
        """
        return [int(i) for i in self.model(name, "create", list(values), context=context)]

    def write(
        self,
        name: str,
        ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """``write``: set the same ``values`` on all records ``ids``."""
        self.model(name, "write", list(ids), dict(values), context=context)

    def delete(
        self, name: str, ids: Sequence[int], *, context: Mapping[str, Any] | None = None
    ) -> None:
        """``delete``: remove the records ``ids``."""
        self.model(name, "delete", list(ids), context=context)

    def read(
        self,
        name: str,
        ids: Sequence[int],
        fields: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``read``: the ``fields`` of records ``ids`` (``id`` is always included).

        Dotted names (``"party.name"``) and ``"field:string"`` are allowed.
        """
        rows = self.model(name, "read", list(ids), list(fields), context=context)
        return [dict(r) for r in rows]

    def search(
        self,
        name: str,
        domain: Sequence[Any],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """``search``: ids of the records matching ``domain``."""
        order_list = [list(o) for o in order] if order is not None else None
        ids = self.model(name, "search", list(domain), offset, limit, order_list, context=context)
        return [int(i) for i in ids]

    def search_read(
        self,
        name: str,
        domain: Sequence[Any],
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``search_read``: :meth:`search` then :meth:`read` in one round trip."""
        order_list = [list(o) for o in order] if order is not None else None
        rows = self.model(
            name,
            "search_read",
            list(domain),
            offset,
            limit,
            order_list,
            list(fields),
            context=context,
        )
        return [dict(r) for r in rows]

    def button(
        self,
        name: str,
        button: str,
        ids: Sequence[int],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Press a workflow button (``quote``, ``confirm``, ``post``, ...) on ``ids``."""
        return self.model(name, button, list(ids), context=context)

    # -- transport ------------------------------------------------------------------

    def _post(self, url: str, method: str, params: list[Any], authenticated: bool) -> Any:
        """Send one JSON-RPC request and return its decoded ``result``."""
        request_id = next(self._ids)
        body = dumps({"id": request_id, "method": method, "params": params})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authenticated:
            headers["Authorization"] = self._authorization()
        try:
            response = self._client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.TimeoutException as exc:
            raise TrytonTransportError(f"timeout calling {method}: {exc}", method=method) from exc
        except httpx.HTTPError as exc:
            raise TrytonTransportError(f"cannot call {method}: {exc}", method=method) from exc
        self._raise_for_status(response, method)
        try:
            answer = loads(response.content)
        except ValueError as exc:
            raise TrytonTransportError(
                f"{method}: answer is not JSON: {response.text[:200]!r}",
                method=method,
                status_code=response.status_code,
            ) from exc
        if not isinstance(answer, dict):
            raise TrytonTransportError(f"{method}: unexpected answer {answer!r}", method=method)
        if answer.get("error") is not None:
            raise _fault_from_error(answer["error"], method)
        return answer.get("result")

    @staticmethod
    def _raise_for_status(response: httpx.Response, method: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = f"{method}: HTTP {status} {response.reason_phrase}"
        if status in (401, 403):
            raise TrytonAuthError(detail, method=method, status_code=status)
        retry_after = _retry_after(response)
        if status == 429 or (status == 503 and retry_after is not None):
            raise TrytonRateLimited(detail, method=method, retry_after=retry_after)
        if status >= 500:
            raise TrytonTransportError(detail, method=method, status_code=status)
        raise TrytonHTTPError(detail, method=method, status_code=status)


def _retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, parsed by the shared HTTP layer."""
    return retry_after(response.headers.get("Retry-After"))
