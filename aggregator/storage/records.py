"""What storage hands back to the rest of the program: frozen read models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aggregator.types import Author, Media, Platform, PostKind, Status


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    slug: str
    title: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    url: str
    hashtags: tuple[str, ...]
    wall_options: dict[str, Any]  # organiser's overrides of the configured wall settings


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    position: int
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str
    kind: str
    speakers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A source's stored state: cursor and health."""

    id: int
    event_id: int
    name: str
    kind: str
    enabled: bool
    cursor_position: str | None
    etag: str | None
    last_modified: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_run_at: datetime | None
    rate_limited_until: datetime | None
    posts_collected: int
    recheck_position: int | None = None  # the deletion sweep's place: last post id checked


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as stored, with its moderation state and the copies folded into it."""

    id: int
    event_id: int
    platform: Platform
    external_id: str
    url: str
    author_id: int
    author: Author
    created_at: datetime
    collected_at: datetime
    kind: PostKind
    title: str
    text: str
    html: str  # sanitised on the way in; the only field templates may mark safe
    language: str | None
    sensitive: bool
    spoiler_text: str
    hashtags: tuple[str, ...]
    links: tuple[str, ...]
    status: Status
    status_rule: str
    status_detail: str
    canonical_id: int | None
    repost_count: int
    pinned: bool
    featured: bool
    reply_to: str | None = None  # external id of the post this replies to
    quote_of: str | None = None  # external id of the quoted post
    media: tuple[Media, ...] = ()
    copies: tuple[tuple[Platform, str], ...] = field(default=())  # cross-posts: (platform, url)


@dataclass(frozen=True, slots=True)
class PageCursor:
    """A keyset position: (created_at, id) of the last post on a page."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.created_at.timestamp() * 1_000_000)}.{self.id}"

    @staticmethod
    def decode(token: str) -> PageCursor | None:

        try:
            micros, ident = token.split(".", 1)
            return PageCursor(datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(ident))
        except (ValueError, OverflowError, OSError):
            return None


@dataclass(frozen=True, slots=True)
class PostPage:
    """One page of posts, newest first, with the keyset cursors to move either way."""

    posts: tuple[StoredPost, ...]
    earlier: PageCursor | None  # pass as `before` for the next, older page; None at the start of the day
    later: PageCursor | None  # pass as `after` for the newer page; None when this is the newest


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One row of the live-event log; seq is the SSE id."""

    seq: int
    event_id: int
    kind: str  # post.approved, post.retracted, post.updated, announcement, ...
    post_id: int | None
    payload: dict[str, Any]
    created_at: datetime
