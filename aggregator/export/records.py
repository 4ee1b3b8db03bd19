"""The JSON shapes of posts.jsonl and event.json (docs/export-format.md), built from stored records.

No database ids: a post is known by (platform, external_id), so an export of an imported event is
byte-for-byte the export it came from (apart from `exported_at`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aggregator.storage.records import EventRecord, SessionRecord, StoredPost
from aggregator.storage.stories import StoryRecord
from aggregator.types import Media

FORMAT = "event-aggregator-export"
FORMAT_VERSION = 1

MediaName = Callable[[str | None], str | None]  # platform URL -> file name in the bundle (None: not kept)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def session_of(post: StoredPost, programme: list[SessionRecord]) -> str:
    for s in programme:
        if s.starts_at <= post.created_at < s.ends_at:
            return s.title
    return ""


def media_record(m: Media, name: MediaName) -> dict[str, Any]:
    return {
        "kind": m.kind.value, "url": m.url, "thumbnail_url": m.thumbnail_url, "alt_text": m.alt_text,
        "embed_url": m.embed_url, "video_key": m.video_key, "width": m.width, "height": m.height,
        "file": name(m.url) if m.kind.value == "photo" else None, "thumbnail_file": name(m.thumbnail_url),
    }


def post_record(p: StoredPost, programme: list[SessionRecord], name: MediaName) -> dict[str, Any]:
    a = p.author
    return {
        "platform": p.platform.value, "external_id": p.external_id, "url": p.url,
        "created_at": iso(p.created_at), "kind": p.kind.value, "session": session_of(p, programme),
        "author": {"platform": a.platform.value, "external_id": a.external_id, "handle": a.handle, "name": a.name,
                   "avatar_url": a.avatar_url, "avatar_file": name(a.avatar_url), "profile_url": a.profile_url,
                   "bot": a.bot},
        "title": p.title, "text": p.text, "html": p.html, "language": p.language, "sensitive": p.sensitive,
        "spoiler_text": p.spoiler_text, "hashtags": list(p.hashtags), "links": list(p.links),
        "reply_to": p.reply_to, "quote_of": p.quote_of,
        "media": [media_record(m, name) for m in p.media],
        "also_on": [{"platform": pl.value, "url": url} for pl, url in p.copies],
        "repost_count": p.repost_count, "pinned": p.pinned, "featured": p.featured,
    }


def session_record(s: SessionRecord) -> dict[str, Any]:
    return {"position": s.position, "title": s.title, "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at),
            "room": s.room, "kind": s.kind, "speakers": list(s.speakers)}


def story_record(story: StoryRecord, keys: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """A story with its blocks; post blocks name their post by key (only approved posts are in `keys`)."""
    blocks = []
    for b in story.blocks:
        if b.kind == "post" and b.post_id not in keys:
            continue  # a post no longer shown leaves the story, as on the live page
        key = keys.get(b.post_id) if b.post_id is not None else None
        blocks.append({"kind": b.kind, "heading": b.heading, "body": b.body,
                       "post": {"platform": key[0], "external_id": key[1]} if key else None,
                       "media_url": b.media_url})
    return {"slug": story.slug, "title": story.title, "summary": story.summary, "status": story.status,
            "created_at": iso(story.created_at), "published_at": iso(story.published_at), "blocks": blocks}


def event_record(event: EventRecord, programme: list[SessionRecord], stories: list[dict[str, Any]],
                 counts: dict[str, int], exported_at: datetime, database_revision: str | None,
                 kind: str = "public") -> dict[str, Any]:
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "database_revision": database_revision,
        "exported_at": iso(exported_at),
        "event": {"slug": event.slug, "title": event.title, "timezone": event.timezone,
                  "starts_at": iso(event.starts_at), "ends_at": iso(event.ends_at), "venue": event.venue,
                  "url": event.url, "hashtags": list(event.hashtags)},
        "programme": [session_record(s) for s in programme],
        "stories": stories,
        "counts": counts,
        "files": {"posts": "posts.jsonl", "csv": "posts.csv", "feed": "feed.atom", "archive": "index.html",
                  "report": "report.html", "takedowns": "takedowns.txt"},
    }
