"""Which reporters' uploaded files (/media/<slug>/<name>.jpg) may be served: those of posts that are
approved now, and photo blocks of published stories. A taken-down, rejected or pending post's photo
is not served, even to someone who kept its address."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.engine import Connection

from aggregator.storage.schema import events, media, posts, stories, story_blocks
from aggregator.types import Platform, Status


def is_public(conn: Connection, slug: str, url: str) -> bool:
    event_id = conn.execute(select(events.c.id).where(events.c.slug == slug)).scalar()
    if event_id is None:
        return False
    # Reporters' posts are few per event: the (event, status) index finds them, media by post id.
    in_post = exists().where(
        media.c.post_id == posts.c.id, posts.c.event_id == event_id, posts.c.platform == Platform.REPORTER.value,
        posts.c.status == Status.APPROVED.value, or_(media.c.url == url, media.c.thumbnail_url == url))
    in_story = exists().where(
        story_blocks.c.story_id == stories.c.id, stories.c.event_id == event_id, stories.c.status == "published",
        story_blocks.c.kind == "photo", story_blocks.c.media_url == url)
    return bool(conn.execute(select(or_(in_post, in_story))).scalar()) or url in _slide_images(conn, event_id)


def _slide_images(conn: Connection, event_id: int) -> set[str]:
    """Organiser slides' images (in the event's wall options, the main wall's and each named wall's)."""
    stored = conn.execute(select(events.c.wall_options).where(events.c.id == event_id)).scalar() or {}
    walls = [stored, *(stored.get("walls") or {}).values()] if isinstance(stored, dict) else []
    return {str(s.get("image")) for w in walls if isinstance(w, dict)
            for s in (w.get("slides") or []) if isinstance(s, dict)}
