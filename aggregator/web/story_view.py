"""Stories as published pieces: byline, dates, a cover image, runs of photos drawn as one gallery.

Pure functions over the story, its posts and its author's display name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.storage.records import StoredPost
from aggregator.storage.stories import StoryBlock, StoryRecord
from aggregator.types import MediaKind, PostKind

GALLERY_MIN = 2  # this many photos in a row (posts without a caption, or photo blocks) become one gallery
UPDATED_AFTER = timedelta(minutes=10)  # edits within this of publishing do not count as an update


@dataclass(frozen=True, slots=True)
class Photo:
    src: str  # the thumbnail (or the photo)
    full: str  # the photo
    alt: str
    href: str  # the post's permalink, or the photo itself
    caption: str


@dataclass(frozen=True, slots=True)
class Piece:
    """One thing in a section: a block as it is, or a gallery of several photo blocks."""

    block: StoryBlock | None
    gallery: tuple[Photo, ...] = ()


def _post_photo(post: StoredPost, slug: str, caption: str = "") -> Photo | None:
    for m in post.media:
        if m.kind is MediaKind.PHOTO:
            who = post.author.name or post.author.handle
            return Photo(m.thumbnail_url or m.url, m.url, m.alt_text or f"Photo by {who}", f"/e/{slug}/p/{post.id}",
                         caption)
    return None


def _photo_of(block: StoryBlock, posts: dict[int, StoredPost], slug: str) -> Photo | None:
    """The block as a gallery photo, or None when it is not a plain photo."""
    if block.kind == "photo" and block.media_url:
        return Photo(block.media_url, block.media_url, block.body or "Photo", block.media_url, block.body)
    if block.kind == "post" and block.post_id in posts and not block.body:
        post = posts[block.post_id]
        if post.kind is PostKind.PHOTO:
            return _post_photo(post, slug, post.author.name or post.author.handle)
    return None


def pieces(blocks: tuple[StoryBlock, ...], posts: dict[int, StoredPost], slug: str) -> list[Piece]:
    out: list[Piece] = []
    run: list[tuple[StoryBlock, Photo]] = []

    def flush() -> None:
        if len(run) >= GALLERY_MIN:
            out.append(Piece(None, tuple(p for _, p in run)))
        else:
            out.extend(Piece(b) for b, _ in run)
        run.clear()

    for block in blocks:
        photo = _photo_of(block, posts, slug)
        if photo is not None:
            run.append((block, photo))
            continue
        flush()
        out.append(Piece(block))
    flush()
    return out


def cover(story: StoryRecord, posts: dict[int, StoredPost], slug: str) -> Photo | None:
    """The story's first photo: a photo block's, or the first photo of a post in it."""
    for block in story.blocks:
        if block.kind == "photo" and block.media_url:
            return Photo(block.media_url, block.media_url, block.body, block.media_url, block.body)
        if block.kind == "post" and block.post_id in posts:
            found = _post_photo(posts[block.post_id], slug)
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class Dates:
    published: datetime | None
    updated: datetime | None  # only when edited well after publishing


def dates(story: StoryRecord) -> Dates:
    published = story.published_at if story.published else None
    updated = story.updated_at if published is not None and story.updated_at - published > UPDATED_AFTER else None
    return Dates(published, updated)


def byline(names: dict[int, str], story: StoryRecord) -> str:
    """The reporter's display name ("" when the story has no author, e.g. made by the demo)."""
    return names.get(story.author_id, "") if story.author_id is not None else ""
