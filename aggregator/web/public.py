"""Public surfaces: the live wall, its SSE stream, the timeline, permalinks, galleries, stories, embeds.

Every page renders completely on the server (no JavaScript needed to read
it); wall.js and timeline.js only add live updates and small comforts. The
pages carry no inline script or style (the CSP forbids both): the event's
accent colour comes from /e/<slug>/theme.css.

The live stream (`/e/<slug>/live`) sends one SSE message per live-event row,
with the row's seq as the SSE id; aggregator/web/live_stream.py makes each
row's frame once per process and describes the messages.

`?wall=<name>` picks one of the event's named walls: its messages follow that
wall's filters (platforms, media only, hashtags), and `wall.options` reaches
only the screens of the wall whose options changed. Each row's message is
computed once per (row, wall).

A client resumes from the `Last-Event-ID` header (sent by the browser on its
own reconnects) or, on its first connection, from `?after=N` (the seq the page
was rendered at, so nothing approved between render and connect is missed).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from aggregator.config import LoadedConfig, WallSettings
from aggregator.media.store import HASH, MediaStore, image_type
from aggregator.storage import EventRecord, PageCursor, PostPage, PostQuery, Storage, StoredPost
from aggregator.storage.records import SessionRecord
from aggregator.storage.stories import StoryBlock, StoryRecord
from aggregator.types import Platform, PostKey, PostKind, Status
from aggregator.web import auth, cards, colour, story_view, timeline_nav
from aggregator.web.chart import hourly_chart
from aggregator.web.live_stream import LiveStream

log = logging.getLogger("aggregator.web.public")

router = APIRouter(include_in_schema=False)

KIND_FILTERS: dict[str, tuple[PostKind, ...]] = {
    "all": (),
    "posts": (PostKind.TEXT, PostKind.LINK),
    "photos": (PostKind.PHOTO,),
    "videos": (PostKind.VIDEO,),
}
TIMELINE_PAGE = 40
GALLERY_PAGE = 60
DAY_ZERO = PageCursor(datetime(1970, 1, 2, tzinfo=UTC), 0)  # "from the start of the day"
STORY_ROLES = ("reporter", "organiser")


# ---- plumbing --------------------------------------------------------------------------------------------


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _cfg(request: Request) -> LoadedConfig:
    cfg: LoadedConfig = request.app.state.cfg
    return cfg


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.templates.env
    return cards.prepare(env)


def _event(request: Request, slug: str) -> EventRecord:
    event = _storage(request).event(slug)
    if event is None:
        raise HTTPException(404, f"no event {slug!r}")
    return event


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    html = cards.render_template(_env(request), name, {"request": request, **context})
    return HTMLResponse(html, status_code=status_code)


def _event_url(cfg: LoadedConfig, event: EventRecord) -> str:
    if event.url:
        return event.url
    return f"{cfg.settings.server.public_url.rstrip('/')}/e/{event.slug}/timeline"


def _platforms(names: tuple[str, ...]) -> tuple[Platform, ...]:
    out = []
    for name in names:
        try:
            out.append(Platform(name))
        except ValueError:
            continue
    return tuple(out)


def _is_curator(request: Request) -> bool:
    user = auth.current_user(request)
    return user is not None and user.can(*STORY_ROLES)


# ---- event home, theme, media ----------------------------------------------------------------------------


@router.get("/e/{slug}")
def event_home(request: Request, slug: str) -> Response:
    _event(request, slug)
    return RedirectResponse(f"/e/{slug}/timeline", status_code=307)


@router.get("/e/{slug}/theme.css")
def theme_css(request: Request, slug: str) -> Response:
    """The event's colours as CSS custom properties (validated #rrggbb, so nothing else can get in)."""
    event = _event(request, slug)
    accent = cards.wall_settings(_cfg(request), event).accent_colour
    # --accent-ink: the accent, darkened if needed, under white text (buttons, chips) at 4.5:1.
    css = f":root {{ --accent: {accent}; --accent-ink: {colour.for_white_text(accent)}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})


# Exactly the names uploads.store_photo writes: anything else (NUL, "..", encoded variants) is a 404.
_MEDIA_PATH = re.compile(r"([a-z0-9][a-z0-9-]{0,62})/[0-9a-f]{32}(?:_t)?\.jpg")


@router.get("/media/{path:path}")
def media_file(request: Request, path: str) -> Response:
    """Kept media by content (/media/<sha256>: never changes, so cached for a year; kept only while an
    approved post shows it), and reporters' uploads (re-encoded JPEGs, no metadata) from server.media_dir,
    while public: a photo of a post that is not approved now (taken down, rejected) is not served."""
    if HASH.match(path):
        return _kept_file(request, path)
    found = _MEDIA_PATH.fullmatch(path)
    if found is None or not _storage(request).upload_is_public(found.group(1), f"/media/{path}"):
        raise HTTPException(404, "no such file")
    root = Path(_cfg(request).settings.server.media_dir).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise HTTPException(404, "no such file")
    # Short cache: a take-down must stop the file being shown soon, also through shared caches.
    return FileResponse(target, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=300"})


def _kept_file(request: Request, digest: str) -> Response:
    store: MediaStore = request.app.state.media_store
    try:
        stream = store.open(digest)
    except (FileNotFoundError, ValueError):
        raise HTTPException(404, "no such file") from None
    with stream:
        data = stream.read()
    ctype = image_type(data[:16]) or "application/octet-stream"
    return Response(data, media_type=ctype, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                                     "ETag": f'"{digest}"'})


@router.get("/e/{slug}/r/{token}")
def reporter_post(request: Request, slug: str, token: str) -> Response:
    """The permanent URL of a reporter's own post (its external id), redirected to its permalink."""
    event = _event(request, slug)
    post = _storage(request).post_by_key(event.id, PostKey(Platform.REPORTER, f"reporter:{token}"))
    if post is None or post.status is not Status.APPROVED:
        raise HTTPException(404, "no such post")
    return RedirectResponse(f"/e/{slug}/p/{post.id}", status_code=307)


# ---- the wall ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WallData:
    seq: int
    posts: list[StoredPost]  # newest first, pinned ones included (the page places them)
    pinned: list[StoredPost]
    featured: list[StoredPost]


def wall_data(storage: Storage, event: EventRecord, settings: WallSettings) -> WallData:
    # The seq first: anything committed after it is replayed to the page's stream (cards are upserted by id).
    seq = storage.last_live_seq()
    platforms = _platforms(settings.platforms)
    narrowed = settings.media_only or settings.mode == "photos" or bool(settings.hashtags)
    # Filters the query cannot express are applied here, over a few pages' worth of the newest posts.
    limit = min(500, settings.max_cards * (4 if narrowed else 1))
    page = storage.posts(event.id, PostQuery(limit=limit, platforms=platforms))
    shown = [p for p in page.posts if cards.wall_shows(p, settings)]
    pinned = [p for p in storage.flagged_posts(event.id, pinned=True, limit=settings.max_cards)
              if cards.wall_shows(p, settings)]
    featured = [p for p in storage.flagged_posts(event.id, featured=True, limit=12) if cards.wall_shows(p, settings)]
    pinned_ids = {p.id for p in pinned}
    posts = [p for p in shown if p.id not in pinned_ids][: max(0, settings.max_cards - len(pinned))]
    # Featured posts older than the newest page stay on the page too: highlights and the spotlight use them.
    on_page = pinned_ids | {p.id for p in posts}
    posts += sorted((p for p in featured if p.id not in on_page), key=lambda p: (p.created_at, p.id), reverse=True)
    return WallData(seq, posts, pinned, featured)


def _wall_settings(request: Request, event: EventRecord, name: str) -> WallSettings:
    if name not in cards.wall_names(_cfg(request), event):
        raise HTTPException(404, f"no wall {name!r}")
    return cards.wall_settings(_cfg(request), event, name)


def _wall_title(cfg: LoadedConfig, event: EventRecord, name: str) -> str:
    ev = cards.event_settings(cfg, event.slug)
    found = [w for w in ev.walls if w.name == name] if ev is not None and name else []
    return found[0].title if found else ""


def _wall_context(request: Request, event: EventRecord, embed: bool, name: str = "") -> dict[str, Any]:
    cfg, storage, now = _cfg(request), _storage(request), _now(request)
    settings = _wall_settings(request, event, name)
    view = cards.wall_view(settings, request.query_params)
    data = wall_data(storage, event, settings)
    programme = storage.programme(event.id)
    current, upcoming = cards.session_now(programme, now)
    announcements = [a for a in storage.announcements(event.id)
                     if not a.withdrawn and (a.ends_at is None or a.ends_at > now)]
    event_url = _event_url(cfg, event)
    card = cards.CardContext(event.slug, event.timezone, now, "embed" if embed else "wall", settings.show_media,
                             "_blank" if embed else "", inline_video=settings.inline_video and not embed)
    query = f"?wall={name}" if name else ""
    return {
        "event": event, "view": view, "settings": settings, "data": data, "programme": programme,
        "current": current, "upcoming": upcoming, "announcements": announcements, "now": now,
        "event_url": event_url, "qr": cards.qr_svg(event_url, f"QR code: {event_url}"), "card": card,
        "embed": embed, "stream_url": f"/e/{event.slug}/live{query}", "wall_name": name,
        "wall_title": _wall_title(cfg, event, name), "mode": "grid" if embed else settings.mode,
    }


@router.get("/e/{slug}/wall", response_class=HTMLResponse)
def wall(request: Request, slug: str) -> HTMLResponse:
    event = _event(request, slug)
    return _page(request, "wall/wall.html", _wall_context(request, event, embed=False))


@router.get("/e/{slug}/wall/{name}", response_class=HTMLResponse)
def named_wall(request: Request, slug: str, name: str) -> HTMLResponse:
    """One of the event's [[events.walls]]: its own mode, filters and options."""
    event = _event(request, slug)
    if not name:
        raise HTTPException(404, "no such wall")
    return _page(request, "wall/wall.html", _wall_context(request, event, embed=False, name=name))


@router.get("/e/{slug}/embed/wall", response_class=HTMLResponse)
def embed_wall(request: Request, slug: str) -> HTMLResponse:
    event = _event(request, slug)
    return _page(request, "wall/wall.html", _wall_context(request, event, embed=True))


# ---- the live stream ---------------------------------------------------------------------------------------


def _start_seq(last_event_id: str | None, after: str | None) -> int | None:
    for value in (last_event_id, after):
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    return None


@router.get("/e/{slug}/live")
async def live(request: Request, slug: str, after: str | None = None, wall: str = "") -> Response:
    """The wall's SSE stream (aggregator/web/live_stream.py). `?wall=<name>`: the stream of one of
    the event's named walls (its filters and option changes)."""
    event = await asyncio.to_thread(_event, request, slug)
    if wall not in cards.wall_names(_cfg(request), event):
        raise HTTPException(404, f"no wall {wall!r}")
    start = _start_seq(request.headers.get("last-event-id"), after)
    return LiveStream(request.app.state.hub, request.app.state.live_frames, event.id, start, wall)


# ---- the timeline --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """Consecutive posts under one programme heading."""

    title: str
    time: str  # "09:45-10:45", or "" between sessions
    session: SessionRecord | None
    posts: tuple[StoredPost, ...]


def group_by_session(posts: list[StoredPost], programme: list[SessionRecord], tz: str) -> list[Group]:
    """Posts in time order, under the heading of the session they were posted in."""

    def heading(p: StoredPost) -> tuple[str, str, SessionRecord | None]:
        for s in programme:
            if s.starts_at <= p.created_at < s.ends_at:
                return s.title, f"{cards.local(s.starts_at, tz)}-{cards.local(s.ends_at, tz)}", s
        if not programme or p.created_at < programme[0].starts_at:
            return "Before the programme", "", None
        if p.created_at >= max(s.ends_at for s in programme):
            return "After the programme", "", None
        return "Between sessions", "", None

    groups: list[Group] = []
    for p in posts:
        title, time, session = heading(p)
        if groups and groups[-1].title == title and groups[-1].time == time:
            last = groups[-1]
            groups[-1] = Group(last.title, last.time, last.session, (*last.posts, p))
        else:
            groups.append(Group(title, time, session, (p,)))
    return groups


@dataclass(frozen=True, slots=True)
class Filters:
    kind: str
    platform: str
    author: int | None
    q: str

    def params(self, **extra: str) -> str:
        from urllib.parse import urlencode

        values: dict[str, str] = {}
        if self.kind != "all":
            values["kind"] = self.kind
        if self.platform:
            values["platform"] = self.platform
        if self.author is not None:
            values["author"] = str(self.author)
        if self.q:
            values["q"] = self.q
        values.update(extra)
        return ("?" + urlencode(values)) if values else "?"


def _filters(request: Request) -> Filters:
    qp = request.query_params
    kind = qp.get("kind", "all")
    platform = qp.get("platform", "")
    author = qp.get("author", "")
    return Filters(
        kind=kind if kind in KIND_FILTERS else "all",
        platform=platform if platform in {p.value for p in Platform} else "",
        author=int(author) if author.isdigit() else None,
        q=qp.get("q", "").strip()[:200],
    )


def _cursor(value: str | None) -> PageCursor | None:
    return PageCursor.decode(value) if value else None


def _post_query(f: Filters, author_ids: tuple[int, ...] = ()) -> PostQuery:
    return PostQuery(kinds=KIND_FILTERS[f.kind], platforms=(Platform(f.platform),) if f.platform else (),
                     author_id=None if author_ids else f.author, author_ids=author_ids)


def timeline_page(storage: Storage, event: EventRecord, f: Filters, before: PageCursor | None,
                  after: PageCursor | None, latest: bool, limit: int = TIMELINE_PAGE,
                  author_ids: tuple[int, ...] = ()) -> tuple[PostPage, bool]:
    """A page of the timeline and whether it is the first page of the day."""
    from_start = before is None and after is None and not latest
    q = replace(_post_query(f, author_ids), before=before, after=DAY_ZERO if from_start else after, limit=limit)
    page = storage.search_posts(event.id, q, f.q) if f.q else storage.posts(event.id, q)
    if from_start:
        page = PostPage(page.posts, earlier=None, later=page.later)
    return page, from_start


def _timeline_context(request: Request, event: EventRecord, embed: bool) -> dict[str, Any]:
    storage, now = _storage(request), _now(request)
    f = _filters(request)
    qp = request.query_params
    programme = storage.programme(event.id)
    start, end = cards.day_bounds(event)
    facets = storage.author_facets(event.id)
    everyone = timeline_nav.people(facets, storage.same_person_links(event.id, [a.id for a in facets]))
    author_ids = timeline_nav.person_ids(f.author, everyone)
    before, after, latest = _cursor(qp.get("before")), _cursor(qp.get("after")), qp.get("latest") == "1"
    opening = None
    if before is None and after is None and not latest:
        opening = timeline_nav.opening_session(programme, now, start, end)  # during the event: the session on now
        if opening is not None:
            after = PageCursor.decode(timeline_nav.cursor_at(opening.starts_at))
    page, _ = timeline_page(storage, event, f, before, after, latest, author_ids=author_ids)
    chronological = list(reversed(page.posts))
    filtered = bool(f.q or f.author is not None or f.platform or f.kind != "all")
    # With a filter or a search, the chart and the count describe what matches (counted up to a cap;
    # past it the chart shows the whole day). Without, the chart comes from the kept counts.
    matches = storage.filtered_matches(event.id, _post_query(f, author_ids), f.q, start, end) if filtered else None
    hours = matches.hours if matches is not None and matches.hours is not None else None
    chart = hourly_chart(hours if hours is not None else storage.hour_counts(event.id, start, end),
                         programme, start, end, event.timezone)
    card = cards.CardContext(event.slug, event.timezone, now, "embed" if embed else "timeline", True,
                             "_blank" if embed else "", cards.event_days(event),
                             curate=not embed and _is_curator(request))
    base = f"/e/{event.slug}/embed/timeline" if embed else f"/e/{event.slug}/timeline"
    return {
        "event": event, "filters": f, "page": page, "groups": group_by_session(chronological, programme,
                                                                               event.timezone),
        "programme": programme, "authors": everyone, "chart": chart, "card": card,
        "platforms": [(p.value, cards.platform_name(p.value)) for p in Platform], "base": base, "embed": embed,
        "kinds": list(KIND_FILTERS), "now": now, "filtered": filtered,
        "matches": matches.total if matches is not None else None,
        "matches_capped": matches is not None and matches.capped,
        "cursor_at": timeline_nav.cursor_at, "opening": opening,
    }


@router.get("/e/{slug}/timeline", response_class=HTMLResponse)
def timeline(request: Request, slug: str) -> HTMLResponse:
    event = _event(request, slug)
    context = _timeline_context(request, event, embed=False)
    response = _page(request, "timeline/timeline.html", context)
    if context["card"].curate:  # the curator's own links: never from a shared cache
        response.headers["Cache-Control"] = "private, no-store"
    return response


@router.get("/e/{slug}/embed/timeline", response_class=HTMLResponse)
def embed_timeline(request: Request, slug: str) -> HTMLResponse:
    event = _event(request, slug)
    return _page(request, "timeline/timeline.html", _timeline_context(request, event, embed=True))


def _gallery(request: Request, slug: str, kind: PostKind) -> HTMLResponse:
    event = _event(request, slug)
    qp = request.query_params
    page = _storage(request).posts(event.id, PostQuery(
        kinds=(kind,), before=_cursor(qp.get("before")), after=_cursor(qp.get("after")), limit=GALLERY_PAGE))
    return _page(request, "timeline/gallery.html", {
        "event": event, "page": page, "kind": kind.value, "now": _now(request), "days": cards.event_days(event),
        "title": "Photos" if kind is PostKind.PHOTO else "Videos",
    })


@router.get("/e/{slug}/photos", response_class=HTMLResponse)
def photos(request: Request, slug: str) -> HTMLResponse:
    return _gallery(request, slug, PostKind.PHOTO)


@router.get("/e/{slug}/videos", response_class=HTMLResponse)
def videos(request: Request, slug: str) -> HTMLResponse:
    return _gallery(request, slug, PostKind.VIDEO)


@router.get("/e/{slug}/p/{post_id}", response_class=HTMLResponse)
def permalink(request: Request, slug: str, post_id: int) -> HTMLResponse:
    event = _event(request, slug)
    storage = _storage(request)
    post = storage.post(event.id, post_id)
    if post is None or post.status is not Status.APPROVED:
        raise HTTPException(404, "this post is not (or no longer) shown")
    curator = auth.current_user(request) if _is_curator(request) else None
    # Only the stories this curator may change (their own; every story for an organiser).
    stories = [s for s in storage.stories(event.id, include_drafts=True)
               if curator.role == "organiser" or s.author_id == curator.id] if curator else []
    story_sections = [(s, storage.story_by_id(event.id, s.id)) for s in stories]
    return _curator_page(request, "post/permalink.html", {
        "event": event, "post": post, "now": _now(request), "curator": curator,
        "story_sections": story_sections,
        "card": cards.CardContext(event.slug, event.timezone, _now(request), "permalink",
                                  days=cards.event_days(event)),
    })


def _curator_page(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """A public page that may carry curator forms: the CSRF token and session cookie come along."""
    token = auth.csrf_token(request) if context.get("curator") else ""
    response = _page(request, name, {**context, "csrf_token": token})
    if context.get("curator"):
        response.headers["Cache-Control"] = "no-store"
        auth.attach_session(request, response)
    return response


# ---- stories ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    heading: StoryBlock | None  # None for blocks before the first section
    blocks: tuple[StoryBlock, ...]


def story_sections(story: StoryRecord) -> list[Section]:
    sections: list[Section] = []
    for block in story.blocks:
        if block.kind == "section":
            sections.append(Section(block, ()))
        elif sections:
            last = sections[-1]
            sections[-1] = Section(last.heading, (*last.blocks, block))
        else:
            sections.append(Section(None, (block,)))
    return sections


def story_context(storage: Storage, event: EventRecord, story: StoryRecord, now: datetime, embed: bool,
                  ) -> dict[str, Any]:
    ids = [b.post_id for b in story.blocks if b.post_id is not None]
    found = storage.posts_by_ids(event.id, ids)
    visible = {i: p for i, p in found.items() if p.status is Status.APPROVED}
    card = cards.CardContext(event.slug, event.timezone, now, "embed" if embed else "story", True,
                             "_blank" if embed else "", cards.event_days(event))
    sections = story_sections(story)
    return {"event": event, "story": story, "sections": sections, "posts": visible, "card": card,
            "now": now, "embed": embed,
            "pieces": [story_view.pieces(sec.blocks, visible, event.slug) for sec in sections],
            "cover": story_view.cover(story, visible, event.slug), "dates": story_view.dates(story),
            "byline": story_view.byline(_author_names(storage, [story]), story)}


def _author_names(storage: Storage, items: list[StoryRecord]) -> dict[int, str]:
    names = {}
    for author_id in {s.author_id for s in items if s.author_id is not None}:
        user = storage.user(author_id)
        if user is not None:
            names[author_id] = user.display_name or user.username
    return names


def _story(request: Request, event: EventRecord, slug: str) -> StoryRecord:
    story = _storage(request).story(event.id, slug)
    if story is None or (not story.published and not _is_curator(request)):
        raise HTTPException(404, "no such story")
    return story


@router.get("/e/{slug}/stories", response_class=HTMLResponse)
def stories_index(request: Request, slug: str) -> HTMLResponse:
    event = _event(request, slug)
    storage = _storage(request)
    items = storage.stories(event.id, include_drafts=_is_curator(request))
    names = _author_names(storage, items)
    entries = []
    for item in items:  # a handful of stories per event: one read each for its cover
        full = storage.story_by_id(event.id, item.id) or item
        ids = [b.post_id for b in full.blocks if b.post_id is not None]
        shown = {i: p for i, p in storage.posts_by_ids(event.id, ids).items() if p.status is Status.APPROVED}
        entries.append((item, story_view.cover(full, shown, event.slug), story_view.dates(item),
                        story_view.byline(names, item)))
    return _page(request, "stories/index.html", {"event": event, "stories": items, "entries": entries,
                                                 "now": _now(request)})


@router.get("/e/{slug}/stories/{story_slug}", response_class=HTMLResponse)
def story_page(request: Request, slug: str, story_slug: str) -> HTMLResponse:
    event = _event(request, slug)
    story = _story(request, event, story_slug)
    response = _page(request, "stories/story.html",
                     story_context(_storage(request), event, story, _now(request), embed=False))
    if not story.published:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/e/{slug}/embed/story/{story_slug}", response_class=HTMLResponse)
def embed_story(request: Request, slug: str, story_slug: str) -> HTMLResponse:
    event = _event(request, slug)
    story = _storage(request).story(event.id, story_slug)
    if story is None or not story.published:  # embeds never show drafts
        raise HTTPException(404, "no such story")
    return _page(request, "stories/story.html",
                 story_context(_storage(request), event, story, _now(request), embed=True))
