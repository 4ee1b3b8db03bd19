"""The values that travel between stages: sources -> pipeline -> storage -> web.

Every stage takes and returns these frozen dataclasses; no dicts of dicts
cross a module boundary. Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Platform(enum.StrEnum):
    """Where a post came from. The value is what the database stores."""

    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    FLICKR = "flickr"
    YOUTUBE = "youtube"
    FEED = "feed"  # any other RSS/Atom feed (blogs, news)
    REPORTER = "reporter"  # written or uploaded in our own console


class PostKind(enum.StrEnum):
    """What a card mainly shows; drives timeline filters and galleries."""

    TEXT = "text"
    PHOTO = "photo"
    VIDEO = "video"
    LINK = "link"


class MediaKind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"


class Status(enum.StrEnum):
    """Moderation state of a stored post. Only APPROVED reaches a public surface."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REMOVED = "removed"  # taken down, or deleted at its source
    DUPLICATE = "duplicate"  # folded into another post (repost, cross-post)


class RelationKind(enum.StrEnum):
    REPLY = "reply"
    REPOST = "repost"  # retweet, boost, Bluesky repost
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class Author:
    platform: Platform
    external_id: str  # stable platform id: X user id, Mastodon account URL, Bluesky DID
    handle: str  # as people write it: "alice", "alice@example.social", "alice.bsky.social"
    name: str  # display name, plain text
    avatar_url: str | None = None
    profile_url: str | None = None
    bot: bool = False


@dataclass(frozen=True, slots=True)
class Media:
    kind: MediaKind
    url: str  # full-size photo, or the video's page / direct file
    thumbnail_url: str | None = None  # small photo, or the video's poster image
    alt_text: str = ""
    embed_url: str | None = None  # videos: an iframe-able player URL (YouTube, Vimeo)
    video_key: str | None = None  # videos: "youtube:<id>" / "vimeo:<id>", for dedup
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    """A link from one post to another on the same platform."""

    kind: RelationKind
    external_id: str  # the other post's id (same id scheme as Post.external_id)
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """One post, photo or video from any platform, in one shape."""

    platform: Platform
    external_id: str  # unique per platform; Mastodon: the status `uri` (global identity)
    url: str  # permalink on the platform
    author: Author
    created_at: datetime  # UTC; far-future values already clamped by the collector
    text: str  # plain text, no markup
    html: str  # sanitised HTML (allowlist); safe to mark as safe in templates
    kind: PostKind = PostKind.TEXT
    language: str | None = None
    media: tuple[Media, ...] = ()
    hashtags: tuple[str, ...] = ()  # lower-case, without '#'
    links: tuple[str, ...] = ()  # expanded outbound URLs
    relations: tuple[Relation, ...] = ()
    repost_of: Post | None = None  # for reposts: the original, taken from the payload
    sensitive: bool = False  # platform flagged the media as sensitive
    spoiler_text: str = ""  # content warning, plain text
    edited_at: datetime | None = None
    title: str = ""  # feeds: entry title (photos, videos, blog posts)

    @property
    def key(self) -> PostKey:
        return PostKey(self.platform, self.external_id)

    def relation(self, kind: RelationKind) -> Relation | None:
        return next((r for r in self.relations if r.kind is kind), None)


@dataclass(frozen=True, slots=True, order=True)
class PostKey:
    """Identity of a post within an event: platform + external id."""

    platform: Platform
    external_id: str


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a source left off; committed in the same transaction as its posts."""

    position: str | None = None  # since_id / min_id / cursor / newest seen id
    etag: str | None = None  # feeds: conditional GET
    last_modified: str | None = None  # feeds: conditional GET


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one run of a collector returns: plain data, no side effects."""

    posts: tuple[Post, ...]
    cursor: Cursor  # the next cursor to store with these posts
    deleted: tuple[str, ...] = ()  # external ids the source reports deleted
    not_modified: bool = False  # feed answered 304
    requests: int = 0  # HTTP requests made, for logs and health
    skipped: tuple[tuple[str, int], ...] = ()  # (reason, count) of fetched items not handed on

    @property
    def fetched(self) -> int:
        """Items the platform sent: those handed on plus those skipped."""
        return len(self.posts) + sum(n for _, n in self.skipped)


@dataclass(frozen=True, slots=True)
class Decision:
    """A moderation verdict and the rule that made it (pure, explainable)."""

    status: Status
    rule: str  # e.g. "mode:post", "blocked_word:spam", "trusted_author", "human:alice"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class IngestItem:
    """A post with the pipeline's verdicts, ready for one storage transaction."""

    post: Post
    decision: Decision
    duplicate_of: PostKey | None = None  # folded into this post (repost / cross-post / same media)
    is_repost: bool = False  # a repost folded into its original: counts towards repost_count
    # For a post stored already, `decision` is what an edit makes of it; DUPLICATE keeps its status.


@dataclass(frozen=True, slots=True)
class CardMerge:
    """Stored cards that dedup now says are one (a new post bridges them)."""

    survivor: PostKey  # the stored face that stays
    absorbed: tuple[PostKey, ...]  # stored faces whose cards fold into the survivor's (and are retracted)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest transaction did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # seen before: idempotent re-delivery
    tombstoned: int = 0  # skipped because a tombstone forbids it
    live_events: int = 0
    inserted_keys: tuple[PostKey, ...] = field(default=())
    folded: int = 0  # of `inserted`: new posts folded into an existing card as duplicates or reposts
    generation: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # storage's, before and after
