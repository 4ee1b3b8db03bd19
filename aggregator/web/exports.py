"""Keeping the day on the web: Atom feeds, the takedown sync, the report page and the console's export.

- `/e/<slug>/feed.atom`: the newest approved posts; `/e/<slug>/stories.atom`: published stories.
- `/api/events/<slug>/removed?since=`: what was taken down (or deleted at the source, or rejected)
  since a time, without content, so downstream copies can honour takedowns.
- `/e/<slug>/report`: the printable report of the day (organisers; anyone when the event's
  `report_public` is set).
- `/console/<slug>/export` and `.../export.zip`: the organiser's "Export the day" button; the zip is
  written by a worker thread into a small bounded queue that the response drains, so the bundle is
  never held in memory and the event loop never does the work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import escape
from pydantic import BaseModel

from aggregator.export import atom
from aggregator.export.bundle import write_bundle
from aggregator.media.store import MediaStore
from aggregator.report import build_report
from aggregator.storage import EventRecord, PostQuery, Storage
from aggregator.web import auth, cards
from aggregator.web.auth import User, render_console, require_role
from aggregator.web.deps import app_config, app_storage, event_or_404

router = APIRouter()
AsOrganiser = Annotated[User, Depends(require_role("organiser"))]
FEED_SIZE = 50
CHUNK = 64 * 1024


_storage = app_storage
_cfg = app_config
_event = event_or_404


def _public(request: Request) -> str:
    return _cfg(request).settings.server.public_url.rstrip("/")


ATOM = "application/atom+xml; charset=utf-8"


# ---- feeds ------------------------------------------------------------------------------------------------


@router.get("/e/{slug}/feed.atom", include_in_schema=False)
def posts_feed(request: Request, slug: str) -> Response:
    event = _event(request, slug)
    base = _public(request)
    page = _storage(request).posts(event.id, PostQuery(limit=FEED_SIZE))
    updated = page.posts[0].created_at if page.posts else event.starts_at
    entries = [atom.post_entry(p, base, event.slug) for p in page.posts]
    body = "".join(atom.atom_chunks(atom.stable_id(event.slug, "feed"), event.title, f"{base}/e/{slug}/feed.atom",
                                    f"{base}/e/{slug}/timeline", updated, entries))
    return Response(body, media_type=ATOM, headers={"Cache-Control": "public, max-age=60"})


@router.get("/e/{slug}/stories.atom", include_in_schema=False)
def stories_feed(request: Request, slug: str) -> Response:
    event = _event(request, slug)
    base = _public(request)
    stories = _storage(request).stories(event.id)  # published only
    entries = [atom.FeedEntry(atom.stable_id(event.slug, "story", s.slug), s.title,
                              f"{base}/e/{slug}/stories/{s.slug}", s.updated_at, s.published_at, event.title,
                              str(escape(s.summary or s.title)), s.summary)
               for s in stories]
    updated = max((s.updated_at for s in stories), default=event.starts_at)
    body = "".join(atom.atom_chunks(atom.stable_id(event.slug, "stories"), f"{event.title}: stories",
                                    f"{base}/e/{slug}/stories.atom", f"{base}/e/{slug}/stories", updated, entries))
    return Response(body, media_type=ATOM, headers={"Cache-Control": "public, max-age=60"})


# ---- takedown sync ------------------------------------------------------------------------------------------


class RemovedOut(BaseModel):
    platform: str
    external_id: str
    reason: str
    removed_at: datetime


class RemovedPageOut(BaseModel):
    since: datetime | None
    until: datetime  # pass as `since` next time
    removed: list[RemovedOut]


@router.get("/api/events/{slug}/removed", response_model=RemovedPageOut, tags=["public"],
            summary="Posts removed since a time (taken down, deleted at the source, rejected), without content")
def removed(request: Request, slug: str,
            since: Annotated[datetime | None, Query(description="ISO 8601 time; default: everything")] = None,
            ) -> RemovedPageOut:
    event = _event(request, slug)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    until: datetime = request.app.state.clock()
    rows = _storage(request).removals(event.id, since - timedelta(seconds=1) if since else None)
    return RemovedPageOut(since=since, until=until, removed=[
        RemovedOut(platform=r.platform, external_id=r.external_id, reason=r.reason, removed_at=r.removed_at)
        for r in rows if since is None or r.removed_at >= since])


# ---- the report of the day ----------------------------------------------------------------------------------


def report_allowed(request: Request, slug: str) -> bool:
    ev = cards.event_settings(_cfg(request), slug)
    if ev is not None and ev.report_public:
        return True
    user = auth.current_user(request)
    return user is not None and user.can("organiser")


@router.get("/e/{slug}/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, slug: str) -> Response:
    event = _event(request, slug)
    if not report_allowed(request, slug):
        if auth.current_user(request) is None:
            return Response(status_code=303, headers={"Location": f"/console/login?next=/e/{slug}/report"})
        raise HTTPException(403, "the report is for organisers")
    html = render_report(request, event)
    response = HTMLResponse(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_report(request: Request, event: EventRecord) -> str:
    env = cards.prepare(request.app.state.templates.env)
    report = build_report(_storage(request), event, request.app.state.clock())
    index: Any = env.globals.get("media_index")

    def media(url: str | None) -> str | None:
        local = index.local(url) if index is not None and url else None
        return local or cards.safe_media_url(url)

    return cards.render_template(env, "report/report.html", {
        "event": event, "report": report, "css": ["/static/common.css", "/static/timeline.css",
                                                  "/static/report.css", f"/e/{event.slug}/theme.css"],
        "media": media, "home_href": f"/e/{event.slug}/timeline",
        "post_href": lambda p: f"/e/{event.slug}/p/{p.id}",
        "story_href": lambda s: f"/e/{event.slug}/stories/{s.slug}"})


# ---- the console's export --------------------------------------------------------------------------------------


@router.get("/console/{slug}/export", response_class=HTMLResponse, include_in_schema=False)
def export_page(request: Request, slug: str, user: AsOrganiser) -> Response:
    event = _event(request, slug)
    storage = _storage(request)
    return render_console(request, "console/export.html", {
        "event": event, "cards": storage.approved_count(event.id), "media": storage.media_status(event.id),
        "done": ""})


class _Pipe:
    """A write-only file the zip writer fills and the response drains (bounded: the writer waits)."""

    def __init__(self, size: int = 64) -> None:
        self.q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=size)
        self.buf = bytearray()
        self.closed_by_reader = threading.Event()

    def write(self, data: bytes) -> int:
        if self.closed_by_reader.is_set():
            raise BrokenPipeError("the download was cancelled")
        self.buf += data
        if len(self.buf) >= CHUNK:
            self._put(bytes(self.buf))
            self.buf.clear()
        return len(data)

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self.closed_by_reader.is_set():
            try:
                self.q.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        if item is not None and not isinstance(item, BaseException):
            raise BrokenPipeError("the download was cancelled")

    def flush(self) -> None:
        pass

    def finish(self, error: BaseException | None = None) -> None:
        if self.buf:
            self._put(bytes(self.buf))
            self.buf.clear()
        self._put(error)

    def chunks(self) -> Iterator[bytes]:
        try:
            while True:
                item = self.q.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.closed_by_reader.set()


def stream_bundle(storage: Storage, store: MediaStore, event: EventRecord, public_url: str, now: datetime,
                  ) -> Iterator[bytes]:
    pipe = _Pipe()

    def work() -> None:
        try:
            write_bundle(storage, store, event, pipe, public_url=public_url, now=now,  # type: ignore[arg-type]
                         database_revision=None)
        except BrokenPipeError:
            return
        except Exception as exc:
            pipe.finish(exc)
            return
        pipe.finish()

    threading.Thread(target=work, name=f"export-{event.slug}", daemon=True).start()
    return pipe.chunks()


@router.get("/console/{slug}/export.zip", include_in_schema=False)
def export_zip(request: Request, slug: str, user: AsOrganiser) -> Response:
    event = _event(request, slug)
    now: datetime = request.app.state.clock()
    chunks = stream_bundle(_storage(request), request.app.state.media_store, event, _public(request), now)
    name = f"{event.slug}-{now:%Y%m%d-%H%M}.zip"
    return StreamingResponse(chunks, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
