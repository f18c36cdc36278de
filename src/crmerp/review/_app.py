"""The review page as a Starlette application."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from crmerp._errors import UsageError
from crmerp.review._auth import Gate
from crmerp.review._views import conflict_view, conflicts_view
from crmerp.sync import SyncEngine

__all__ = ["review_app"]

EngineFactory = Callable[[], AbstractContextManager[SyncEngine]]

_PICKS = {"crm", "erp", "link", "new"}


def review_app(
    open_engine: EngineFactory,
    *,
    token: str | None = None,
    users: Mapping[str, str] | None = None,
    title: str = "crmerp review",
) -> Starlette:
    """An ASGI application: the review page of the scope ``open_engine`` opens.

    ``open_engine`` is called once per request and must return a context manager
    giving a :class:`~crmerp.sync.SyncEngine` (and closing it afterwards), such as
    ``lambda: crmerp.cli._session.open_engine(config)``. Every request must log in
    with HTTP basic auth: with ``token``, any name and the token as password (the
    name goes into the audit trail), or a program with ``Authorization: Bearer
    <token>``; with ``users``, a name and that user's password. Forms carry a
    per-application secret, so another site cannot post decisions in a logged-in
    browser's name.
    """
    page = _Pages(open_engine, Gate(token=token, users=users), title)
    return Starlette(
        routes=[
            Route("/", page.index, name="index"),
            Route("/conflicts/{conflict_id:int}", page.conflict),
            Route("/conflicts/{conflict_id:int}/decide", page.decide, methods=["POST"]),
            Route("/quarantine/{item_id:int}/retry", page.retry, methods=["POST"]),
        ]
    )


class _Pages:
    def __init__(self, open_engine: EngineFactory, gate: Gate, title: str) -> None:
        self.open_engine = open_engine
        self.gate = gate
        self.title = title
        self.form_secret = secrets.token_urlsafe(24)
        self.templates = Environment(
            loader=PackageLoader("crmerp.review", "templates"),
            autoescape=select_autoescape(default=True),
        )

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        template = self.templates.get_template(name)
        html = template.render(
            title=self.title,
            form_secret=self.form_secret,
            root=request.scope.get("root_path", "").rstrip("/"),
            **values,
        )
        return HTMLResponse(html, status_code=status)

    async def index(self, request: Request) -> Response:
        user = self.gate.user(request)
        with self.open_engine() as engine:
            conflicts = conflicts_view(engine, engine.conflicts())
            quarantined = engine.quarantined()
        return self.render(
            request,
            "index.html",
            user=user,
            done=request.query_params.get("done", ""),
            conflicts=conflicts,
            quarantined=quarantined,
        )

    async def conflict(self, request: Request) -> Response:
        user = self.gate.user(request)
        conflict_id = request.path_params["conflict_id"]
        with self.open_engine() as engine:
            found = {c.id: c for c in engine.conflicts(None)}
            if conflict_id not in found:
                raise HTTPException(404, f"no conflict {conflict_id}")
            view = conflict_view(engine, found[conflict_id])
        return self.render(request, "conflict.html", user=user, c=view)

    async def decide(self, request: Request) -> Response:
        user = self.gate.user(request)
        conflict_id = request.path_params["conflict_id"]
        form = await request.form()
        self._check_secret(form.get("form_secret"))
        pick, value = form.get("pick"), form.get("value")
        try:
            with self.open_engine() as engine:
                if isinstance(pick, str) and pick in _PICKS:
                    engine.resolve(conflict_id, pick=pick, by=user)
                elif isinstance(value, str) and value.strip():
                    engine.resolve(conflict_id, value=_value(value), by=user)
                else:
                    raise UsageError("pick a side, or type a value", code="review-empty")
        except UsageError as exc:
            return self.render(request, "problem.html", 409, user=user, message=_plain(exc))
        return _back(request, f"Conflict {conflict_id} settled; the next sync writes it.")

    async def retry(self, request: Request) -> Response:
        user = self.gate.user(request)
        item_id = request.path_params["item_id"]
        form = await request.form()
        self._check_secret(form.get("form_secret"))
        try:
            with self.open_engine() as engine:
                engine.retry_quarantined([item_id], by=user)
        except UsageError as exc:
            return self.render(request, "problem.html", 409, user=user, message=_plain(exc))
        return _back(request, f"Record {item_id} put back in line; the next sync tries it again.")

    def _check_secret(self, given: Any) -> None:
        if not isinstance(given, str) or not secrets.compare_digest(given, self.form_secret):
            raise HTTPException(403, "this form is not from this review page; reload it")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _plain(exc: UsageError) -> str:
    return str(exc).removesuffix(f" [{exc.code}]")


def _back(request: Request, message: str) -> RedirectResponse:
    index = request.url_for("index").include_query_params(done=message)
    return RedirectResponse(str(index), status_code=303)
