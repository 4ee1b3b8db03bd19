"""The site's front door and page-wide plumbing: `/` (the events, or the only event), HEAD on pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.storage import Storage

router = APIRouter(include_in_schema=False)

# Streams never end, so a HEAD there would hold a connection open for nothing.
NO_HEAD = ("/live",)


@router.get("/")
def front(request: Request) -> Response:
    storage: Storage = request.app.state.storage
    events = storage.events()
    if len(events) == 1:
        return RedirectResponse(f"/e/{events[0].slug}/timeline", status_code=307)
    html = request.app.state.templates.env.get_template("site/home.html").render(
        {"request": request, "events": events})
    return HTMLResponse(html)


class HeadAsGet:
    """Answer HEAD wherever GET is answered (FastAPI routes take only the methods they name):
    the request runs as a GET and the body is dropped, so the headers are the GET's own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"].endswith(NO_HEAD):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class CachedStaticFiles(StaticFiles):
    """Static files with a Cache-Control header: browsers keep them an hour, then revalidate (ETag)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        return response
