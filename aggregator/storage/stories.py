"""Stories: reporters' curated pages, an ordered list of blocks.

A story is a list of blocks in `position` order. A "section" block starts a
new section (its `heading`); "text" blocks hold Markdown (rendered with HTML
disabled); "post" blocks show a stored post (shown only while approved);
"photo" and "video" blocks show a media URL with a caption. Positions are kept
dense (0..n-1): every change renumbers the story's blocks in one transaction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from aggregator.storage.schema import stories, story_blocks

BLOCK_KINDS = ("section", "text", "post", "photo", "video")
STORY_STATUSES = ("draft", "published")
SEED_SECTIONS = (
    "Welcome and opening remarks",
    "Workshops and open space",
    "Bringing it all together",
    "Videos from the day",
    "Social reporting",
)


class StoryError(ValueError):
    """A story change that cannot be made (unknown block kind, unknown block)."""


@dataclass(frozen=True, slots=True)
class StoryBlock:
    id: int
    position: int
    kind: str  # section / text / post / photo / video
    heading: str  # sections: the heading
    body: str  # text: Markdown; others: a caption
    post_id: int | None  # post blocks
    media_url: str | None  # photo / video blocks


@dataclass(frozen=True, slots=True)
class StoryRecord:
    id: int
    event_id: int
    slug: str
    title: str
    summary: str
    status: str  # draft / published
    author_id: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    blocks: tuple[StoryBlock, ...] = ()
    updated_by: int | None = None  # the user who changed it last (author_id: who created it)

    @property
    def published(self) -> bool:
        return self.status == "published"


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    return slug or "story"


def _story(row: Any, blocks: tuple[StoryBlock, ...] = ()) -> StoryRecord:
    return StoryRecord(int(row.id), int(row.event_id), row.slug, row.title, row.summary, row.status, row.author_id,
                       row.created_at, row.updated_at, row.published_at, blocks, row.updated_by)


def _blocks(conn: Connection, story_id: int) -> tuple[StoryBlock, ...]:
    rows = conn.execute(select(story_blocks).where(story_blocks.c.story_id == story_id)
                        .order_by(story_blocks.c.position, story_blocks.c.id))
    return tuple(StoryBlock(int(r.id), int(r.position), r.kind, r.heading, r.body, r.post_id, r.media_url)
                 for r in rows)


def list_stories(conn: Connection, event_id: int, include_drafts: bool = False) -> list[StoryRecord]:
    stmt = select(stories).where(stories.c.event_id == event_id)
    if not include_drafts:
        stmt = stmt.where(stories.c.status == "published")
    rows = conn.execute(stmt.order_by(stories.c.updated_at.desc(), stories.c.id.desc()))
    return [_story(r) for r in rows]


def get_story(conn: Connection, event_id: int, slug: str) -> StoryRecord | None:
    row = conn.execute(select(stories).where(stories.c.event_id == event_id, stories.c.slug == slug)).first()
    return _story(row, _blocks(conn, int(row.id))) if row else None


def get_story_by_id(conn: Connection, event_id: int, story_id: int) -> StoryRecord | None:
    row = conn.execute(select(stories).where(stories.c.event_id == event_id, stories.c.id == story_id)).first()
    return _story(row, _blocks(conn, int(row.id))) if row else None


def create_story(conn: Connection, event_id: int, title: str, author_id: int | None, now: datetime,
                 summary: str = "", slug: str | None = None) -> int:
    base = slugify(slug or title)
    taken = {r.slug for r in conn.execute(select(stories.c.slug).where(
        stories.c.event_id == event_id, stories.c.slug.like(f"{base}%")))}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return int(conn.execute(stories.insert().values(
        event_id=event_id, slug=candidate, title=title.strip() or "Untitled story", summary=summary,
        status="draft", author_id=author_id, updated_by=author_id, created_at=now, updated_at=now,
    ).returning(stories.c.id)).scalar_one())


def update_story(conn: Connection, story_id: int, now: datetime, *, title: str | None = None,
                 summary: str | None = None, status: str | None = None) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if title is not None:
        values["title"] = title.strip() or "Untitled story"
    if summary is not None:
        values["summary"] = summary
    if status is not None:
        if status not in STORY_STATUSES:
            raise StoryError(f"unknown story status {status!r}")
        values["status"] = status
        current = conn.execute(select(stories.c.published_at).where(stories.c.id == story_id)).scalar()
        if status == "published" and current is None:
            values["published_at"] = now
    conn.execute(update(stories).where(stories.c.id == story_id).values(**values))


def mark_edited(conn: Connection, story_id: int, user_id: int) -> None:
    conn.execute(update(stories).where(stories.c.id == story_id).values(updated_by=user_id))


def delete_story(conn: Connection, story_id: int) -> None:
    conn.execute(story_blocks.delete().where(story_blocks.c.story_id == story_id))
    conn.execute(stories.delete().where(stories.c.id == story_id))


def _renumber(conn: Connection, story_id: int, ordered_ids: list[int]) -> None:
    for position, block_id in enumerate(ordered_ids):
        conn.execute(update(story_blocks).where(story_blocks.c.id == block_id).values(position=position))


def add_block(conn: Connection, story_id: int, kind: str, now: datetime, *, heading: str = "", body: str = "",
              post_id: int | None = None, media_url: str | None = None, section_id: int | None = None) -> int:
    """Append a block: at the end of the story, or at the end of section `section_id`."""
    if kind not in BLOCK_KINDS:
        raise StoryError(f"unknown block kind {kind!r}: use one of {', '.join(BLOCK_KINDS)}")
    blocks = list(_blocks(conn, story_id))
    at = len(blocks)
    if section_id is not None:
        starts = [i for i, b in enumerate(blocks) if b.id == section_id]
        if not starts:
            raise StoryError(f"no section {section_id} in this story")
        at = next((i for i in range(starts[0] + 1, len(blocks)) if blocks[i].kind == "section"), len(blocks))
    if at < len(blocks):  # make room: one statement shifts the rest down
        conn.execute(update(story_blocks).where(story_blocks.c.story_id == story_id,
                                                story_blocks.c.position >= at)
                     .values(position=story_blocks.c.position + 1))
    block_id = int(conn.execute(story_blocks.insert().values(
        story_id=story_id, position=at, kind=kind, heading=heading, body=body, post_id=post_id,
        media_url=media_url,
    ).returning(story_blocks.c.id)).scalar_one())
    conn.execute(update(stories).where(stories.c.id == story_id).values(updated_at=now))
    return block_id


def update_block(conn: Connection, story_id: int, block_id: int, now: datetime, *, heading: str | None = None,
                 body: str | None = None) -> None:
    values: dict[str, Any] = {}
    if heading is not None:
        values["heading"] = heading
    if body is not None:
        values["body"] = body
    if values:
        conn.execute(update(story_blocks).where(story_blocks.c.story_id == story_id,
                                                story_blocks.c.id == block_id).values(**values))
        conn.execute(update(stories).where(stories.c.id == story_id).values(updated_at=now))


def move_block(conn: Connection, story_id: int, block_id: int, delta: int, now: datetime) -> None:
    ids = [b.id for b in _blocks(conn, story_id)]
    if block_id not in ids:
        raise StoryError(f"no block {block_id} in this story")
    i = ids.index(block_id)
    j = max(0, min(len(ids) - 1, i + delta))
    ids.insert(j, ids.pop(i))
    _renumber(conn, story_id, ids)
    conn.execute(update(stories).where(stories.c.id == story_id).values(updated_at=now))


def delete_block(conn: Connection, story_id: int, block_id: int, now: datetime) -> None:
    position = conn.execute(select(story_blocks.c.position).where(
        story_blocks.c.story_id == story_id, story_blocks.c.id == block_id)).scalar()
    if position is None:
        return
    conn.execute(story_blocks.delete().where(story_blocks.c.story_id == story_id, story_blocks.c.id == block_id))
    conn.execute(update(story_blocks).where(story_blocks.c.story_id == story_id, story_blocks.c.position > position)
                 .values(position=story_blocks.c.position - 1))
    conn.execute(update(stories).where(stories.c.id == story_id).values(updated_at=now))


def seed_sections(conn: Connection, story_id: int, now: datetime) -> list[int]:
    """The seed-page template: the five usual sections, appended in order."""
    return [add_block(conn, story_id, "section", now, heading=h) for h in SEED_SECTIONS]
