"""The public, read-only JSON API (OpenAPI at /docs).

Only approved posts and published stories leave through here. Pages of posts
use the same keyset cursors as the timeline: pass a page's `earlier` as
`before` for older posts, its `later` as `after` for newer ones; positions
stay stable while posts arrive. Cross-origin browser use is allowed for the
origins in server.cors_origins (app.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from aggregator.config import LoadedConfig
from aggregator.pipeline.sanitise import safe_url
from aggregator.storage import EventRecord, PageCursor, PostQuery, Storage, StoredPost
from aggregator.storage.stories import StoryRecord
from aggregator.types import Media, Platform, Status
from aggregator.web.public import KIND_FILTERS

router = APIRouter(prefix="/api", tags=["public"])


class SessionOut(BaseModel):
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str
    kind: str
    speakers: list[str]


class EventOut(BaseModel):
    slug: str
    title: str
    timezone: str = Field(description="IANA timezone of the venue")
    starts_at: datetime
    ends_at: datetime
    venue: str
    url: str
    hashtags: list[str]
    links: dict[str, str] = Field(description="Public pages of the event")


class EventDetailOut(EventOut):
    programme: list[SessionOut]


class AuthorOut(BaseModel):
    platform: str
    handle: str
    name: str
    avatar_url: str | None
    profile_url: str | None


class MediaOut(BaseModel):
    kind: str
    url: str
    thumbnail_url: str | None
    alt_text: str
    embed_url: str | None
    width: int | None
    height: int | None


class PostOut(BaseModel):
    id: int
    platform: str
    url: str | None = Field(description="The post on its platform; null when it has no http(s) web address (a feed "
                                        "entry without a link, or a URL that was not http(s))")
    permalink: str = Field(description="The post on this site")
    author: AuthorOut
    created_at: datetime
    kind: str
    title: str
    text: str = Field(description="Plain text")
    html: str = Field(description="Sanitised HTML (allowlist: p, br, a[href], span, strong, em)")
    language: str | None
    hashtags: list[str]
    links: list[str]
    media: list[MediaOut]
    repost_count: int
    pinned: bool
    featured: bool
    also_on: list[str] = Field(description="URLs of the same post on other platforms")


class PostPageOut(BaseModel):
    posts: list[PostOut] = Field(description="Newest first")
    earlier: str | None = Field(description="Pass as `before` for the next older page; null at the start")
    later: str | None = Field(description="Pass as `after` for the newer page; null when this is the newest")


class StorySummaryOut(BaseModel):
    slug: str
    title: str
    summary: str
    published_at: datetime | None
    updated_at: datetime
    url: str


class StoryBlockOut(BaseModel):
    kind: str = Field(description="section / text / post / photo / video")
    heading: str
    body: str = Field(description="Markdown for text blocks; a caption otherwise")
    media_url: str | None
    post: PostOut | None = Field(description="post blocks: the post, while it is approved")


class StoryOut(StorySummaryOut):
    blocks: list[StoryBlockOut]


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _base(request: Request) -> str:
    cfg: LoadedConfig = request.app.state.cfg
    return cfg.settings.server.public_url.rstrip("/")


def _absolute(base: str, url: str | None) -> str | None:
    """An absolute http(s) URL for the client, or None: our /media/ paths are made absolute, and a
    URL stored before ingest cleaned URLs (javascript:, data:, file:...) never leaves."""
    local = safe_url(url)
    if local is not None and local.startswith("/media/"):
        local = f"{base}{local}"
    return safe_url(local, local_media=False)


def _event(request: Request, slug: str) -> EventRecord:
    event = _storage(request).event(slug)
    if event is None:
        raise HTTPException(404, f"no event {slug!r}")
    return event


def event_out(e: EventRecord, base: str) -> EventOut:
    root = f"{base}/e/{e.slug}"
    return EventOut(slug=e.slug, title=e.title, timezone=e.timezone, starts_at=e.starts_at, ends_at=e.ends_at,
                    venue=e.venue, url=e.url, hashtags=list(e.hashtags),
                    links={"wall": f"{root}/wall", "timeline": f"{root}/timeline", "stories": f"{root}/stories",
                           "posts": f"{base}/api/events/{e.slug}/posts"})


def _media(m: Media, base: str) -> MediaOut | None:
    url = _absolute(base, m.url)
    if url is None:
        return None
    return MediaOut(kind=m.kind.value, url=url, thumbnail_url=_absolute(base, m.thumbnail_url), alt_text=m.alt_text,
                    embed_url=safe_url(m.embed_url, local_media=False), width=m.width, height=m.height)


def post_out(p: StoredPost, slug: str, base: str) -> PostOut:
    a = p.author
    return PostOut(
        id=p.id, platform=p.platform.value, url=_absolute(base, p.url), permalink=f"{base}/e/{slug}/p/{p.id}",
        author=AuthorOut(platform=a.platform.value, handle=a.handle, name=a.name,
                         avatar_url=_absolute(base, a.avatar_url), profile_url=_absolute(base, a.profile_url)),
        created_at=p.created_at, kind=p.kind.value, title=p.title, text=p.text, html=p.html, language=p.language,
        hashtags=list(p.hashtags), links=[u for u in p.links if safe_url(u, local_media=False)],
        media=[out for out in (_media(m, base) for m in p.media) if out is not None],
        repost_count=p.repost_count, pinned=p.pinned, featured=p.featured,
        also_on=[url for _, url in p.copies if safe_url(url, local_media=False)],
    )


def _story_summary(s: StoryRecord, slug: str, base: str) -> StorySummaryOut:
    return StorySummaryOut(slug=s.slug, title=s.title, summary=s.summary, published_at=s.published_at,
                           updated_at=s.updated_at, url=f"{base}/e/{slug}/stories/{s.slug}")


@router.get("/events", response_model=list[EventOut], summary="Every event this server shows")
def list_events(request: Request) -> list[EventOut]:
    base = _base(request)
    return [event_out(e, base) for e in _storage(request).events()]


@router.get("/events/{slug}", response_model=EventDetailOut, summary="One event and its programme")
def get_event(request: Request, slug: str) -> EventDetailOut:
    e = _event(request, slug)
    sessions = [SessionOut(title=s.title, starts_at=s.starts_at, ends_at=s.ends_at, room=s.room, kind=s.kind,
                           speakers=list(s.speakers)) for s in _storage(request).programme(e.id)]
    return EventDetailOut(**event_out(e, _base(request)).model_dump(), programme=sessions)


@router.get("/events/{slug}/posts", response_model=PostPageOut, summary="Approved posts, newest first")
def list_posts(
    request: Request,
    slug: str,
    before: Annotated[str | None, Query(description="A page's `earlier` cursor: older posts")] = None,
    after: Annotated[str | None, Query(description="A page's `later` cursor: newer posts")] = None,
    kind: Annotated[Literal["all", "posts", "photos", "videos"], Query()] = "all",
    platform: Annotated[Platform | None, Query()] = None,
    author: Annotated[int | None, Query(description="Author id")] = None,
    q: Annotated[str, Query(max_length=200, description="Full-text search")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PostPageOut:
    e = _event(request, slug)
    cursors = {}
    for name, value in (("before", before), ("after", after)):
        if value:
            decoded = PageCursor.decode(value)
            if decoded is None:
                raise HTTPException(422, f"{name}: not a cursor from this API")
            cursors[name] = decoded
    query = PostQuery(kinds=KIND_FILTERS[kind], platforms=(platform,) if platform else (), author_id=author,
                      before=cursors.get("before"), after=cursors.get("after"), limit=limit)
    storage = _storage(request)
    page = storage.search_posts(e.id, query, q) if q.strip() else storage.posts(e.id, query)
    base = _base(request)
    return PostPageOut(posts=[post_out(p, slug, base) for p in page.posts],
                       earlier=page.earlier.encode() if page.earlier else None,
                       later=page.later.encode() if page.later else None)


@router.get("/events/{slug}/posts/{post_id}", response_model=PostOut, summary="One approved post")
def get_post(request: Request, slug: str, post_id: int) -> PostOut:
    e = _event(request, slug)
    p = _storage(request).post(e.id, post_id)
    if p is None or p.status is not Status.APPROVED:
        raise HTTPException(404, "no such post")
    return post_out(p, slug, _base(request))


@router.get("/events/{slug}/stories", response_model=list[StorySummaryOut], summary="Published stories")
def list_stories(request: Request, slug: str) -> list[StorySummaryOut]:
    e = _event(request, slug)
    base = _base(request)
    return [_story_summary(s, slug, base) for s in _storage(request).stories(e.id)]


@router.get("/events/{slug}/stories/{story}", response_model=StoryOut, summary="One published story")
def get_story(request: Request, slug: str, story: str) -> StoryOut:
    e = _event(request, slug)
    storage = _storage(request)
    s = storage.story(e.id, story)
    if s is None or not s.published:
        raise HTTPException(404, "no such story")
    base = _base(request)
    posts = storage.posts_by_ids(e.id, [b.post_id for b in s.blocks if b.post_id is not None])
    blocks = []
    for b in s.blocks:
        p = posts.get(b.post_id) if b.post_id is not None else None
        shown = post_out(p, slug, base) if p is not None and p.status is Status.APPROVED else None
        if b.kind == "post" and shown is None:
            continue
        blocks.append(StoryBlockOut(kind=b.kind, heading=b.heading, body=b.body, media_url=_absolute(base, b.media_url),
                                    post=shown))
    return StoryOut(**_story_summary(s, slug, base).model_dump(), blocks=blocks)
