"""Error responses: an HTML page in the site's style for people, JSON for programs.

A request gets the HTML page when it is not under /api and its Accept header
names text/html (what every browser sends for a page); everything else keeps
FastAPI's JSON body ({"detail": ...}). Redirects raised as exceptions (the
sign-in redirect is a 303) pass through unchanged. A request-validation error
(a path or query value of the wrong type) reads as a 400 "bad value" page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator.storage import EventRecord, Storage

log = logging.getLogger("aggregator.web.errors")

TITLES = {
    400: "That value is not right",
    401: "Sign in first",
    403: "Not for your role",
    404: "Not found",
    405: "Not available this way",
    409: "That clashes with something",
    413: "That is too large",
    422: "That value is not right",
    429: "Too many tries",
}
_EVENT_PATH = re.compile(r"^/(?:e|console)/([a-z0-9][a-z0-9-]{0,62})(?:/|$)")


def wants_html(request: Request) -> bool:
    """People get pages: not an API path, and the client asked for HTML."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _event_of(request: Request) -> EventRecord | None:
    """The event the failed URL belongs to, for the page's navigation (None when there is none)."""
    found = _EVENT_PATH.match(request.url.path)
    if not found:
        return None
    storage: Storage = request.app.state.storage
    try:
        return storage.event(found.group(1))
    except Exception:  # an error page must not fail because the database did
        log.exception("errors.event_lookup_failed")
        return None


def _validation_text(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("path", "query", "body"))
        value = err.get("input")
        shown = f" {value!r}" if isinstance(value, str | int) else ""
        parts.append(f"{where or 'a value'}:{shown} {err.get('msg', 'is not valid').lower()}")
    return "; ".join(parts) or "a value in the address is not valid"


def error_page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """The HTML error page (also used by routes that want to show one directly)."""
    event = _event_of(request)
    console = request.url.path.startswith("/console")
    context: dict[str, Any] = {
        "request": request, "status": status, "title": TITLES.get(status, "Something went wrong"),
        "detail": detail, "error_event": event, "console": console,
        "events": [] if event is not None else _events(request),
    }
    env = request.app.state.templates.env
    html = "" if request.method == "HEAD" else env.get_template("site/error.html").render(context)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _events(request: Request) -> list[EventRecord]:
    storage: Storage = request.app.state.storage
    try:
        return storage.events()[:20]
    except Exception:
        log.exception("errors.events_lookup_failed")
        return []


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code < 400 or not wants_html(request):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
    return error_page(request, exc.status_code, detail, dict(exc.headers) if exc.headers else None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not wants_html(request):
        return await request_validation_exception_handler(request, exc)
    return error_page(request, 400, _validation_text(exc))


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
