"""The media store's index: which platform URLs approved posts show, which are kept, which files to drop.

A URL is *referenced* while an approved post shows it: a photo, a photo's
thumbnail, a video's poster, or its author's avatar. The fetch job keeps
referenced URLs; the prune drops index rows (and then files) no approved post
references any more, so a takedown or a deletion at the source takes its
files with it unless another approved post shows the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, union
from sqlalchemy.engine import Connection

from aggregator.storage.posts import _chunks, insert_for
from aggregator.storage.schema import authors, media, media_files, posts
from aggregator.types import MediaKind, Status

MAX_ATTEMPTS = 3  # a URL that failed this often is left alone (the page keeps the platform's URL)


@dataclass(frozen=True, slots=True)
class KeptFile:
    url: str
    sha256: str
    bytes: int
    content_type: str


@dataclass(frozen=True, slots=True)
class MediaStatus:
    """What `aggregator media status` prints for one event."""

    referenced: int  # URLs approved posts show
    kept: int
    failed: int  # gave up after MAX_ATTEMPTS
    missing: int  # not fetched yet (or failed fewer times)
    bytes: int  # distinct files kept for this event


def referenced_urls(event_id: int | None) -> Any:
    """A selectable of the URLs approved posts show (one event, or every event)."""
    approved = posts.c.status == Status.APPROVED.value
    by_media = posts.join(media, media.c.post_id == posts.c.id)
    parts = [
        select(media.c.url.label("url")).select_from(by_media).where(approved, media.c.kind == MediaKind.PHOTO.value),
        select(media.c.thumbnail_url.label("url")).select_from(by_media).where(approved,
                                                                                media.c.thumbnail_url.is_not(None)),
        select(authors.c.avatar_url.label("url")).select_from(posts.join(authors, authors.c.id == posts.c.author_id))
        .where(approved, authors.c.avatar_url.is_not(None)),
    ]
    if event_id is not None:
        parts = [p.where(posts.c.event_id == event_id) for p in parts]
    return union(*parts).subquery("referenced")


def _web(url: str) -> bool:
    """Platform URLs, and reporters' uploads (/media/<event>/<file>.jpg, read from the upload folder)."""
    return url.startswith(("http://", "https://")) or (url.startswith("/media/") and url.endswith(".jpg"))


def wanted(conn: Connection, event_id: int, limit: int) -> list[str]:
    """Referenced URLs not kept yet (and not given up on), oldest rows first is not needed: any order."""
    ref = referenced_urls(event_id)
    done = select(media_files.c.url).where(or_(media_files.c.state == "kept",
                                               media_files.c.attempts >= MAX_ATTEMPTS))
    rows = conn.execute(select(ref.c.url).where(ref.c.url.not_in(done)).order_by(ref.c.url).limit(limit * 2))
    return [r.url for r in rows if r.url and _web(r.url)][:limit]


def record_kept(conn: Connection, url: str, sha256: str, size: int, content_type: str, now: datetime) -> None:
    stmt = insert_for(conn)(media_files).values(url=url, state="kept", sha256=sha256, bytes=size,
                                                content_type=content_type, error="", attempts=1, fetched_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["url"], set_={
        "state": "kept", "sha256": sha256, "bytes": size, "content_type": content_type, "error": "",
        "fetched_at": now}))


def record_failed(conn: Connection, url: str, error: str, now: datetime) -> None:
    stmt = insert_for(conn)(media_files).values(url=url, state="failed", sha256=None, bytes=0, content_type="",
                                                error=error[:500], attempts=1, fetched_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["url"], set_={
        "error": error[:500], "attempts": media_files.c.attempts + 1, "fetched_at": now}))


def event_bytes(conn: Connection, event_id: int) -> int:
    """Bytes of the distinct files the event's approved posts show."""
    ref = referenced_urls(event_id)
    files = (select(media_files.c.sha256, media_files.c.bytes)
             .where(media_files.c.state == "kept", media_files.c.url.in_(select(ref.c.url)))
             .distinct().subquery())
    return int(conn.execute(select(func.coalesce(func.sum(files.c.bytes), 0))).scalar_one())


def status(conn: Connection, event_id: int) -> MediaStatus:
    ref = referenced_urls(event_id)
    referenced = int(conn.execute(select(func.count()).select_from(ref)).scalar_one())
    rows = conn.execute(
        select(media_files.c.state, media_files.c.attempts, func.count())
        .where(media_files.c.url.in_(select(ref.c.url)))
        .group_by(media_files.c.state, media_files.c.attempts)
    )
    kept = failed = 0
    for state, attempts, n in rows:
        if state == "kept":
            kept += int(n)
        elif attempts >= MAX_ATTEMPTS:
            failed += int(n)
    return MediaStatus(referenced, kept, failed, referenced - kept - failed, event_bytes(conn, event_id))


def prune(conn: Connection) -> list[str]:
    """Drop index rows no approved post references; returns the files (sha256) nothing uses any more."""
    ref = referenced_urls(None)
    orphans = conn.execute(select(media_files.c.id, media_files.c.sha256)
                           .where(media_files.c.url.not_in(select(ref.c.url)))).all()
    if not orphans:
        return []
    for part in _chunks([r.id for r in orphans]):
        conn.execute(delete(media_files).where(media_files.c.id.in_(part)))
    candidates = sorted({r.sha256 for r in orphans if r.sha256})
    still: set[str] = set()
    for part in _chunks(candidates):
        still.update(r.sha256 for r in conn.execute(select(media_files.c.sha256).where(
            media_files.c.sha256.in_(part))))
    return [s for s in candidates if s not in still]


def kept_map(conn: Connection, urls: Iterable[str] | None = None) -> dict[str, KeptFile]:
    """URL -> kept file, for these URLs (or for every kept URL)."""
    base = select(media_files.c.url, media_files.c.sha256, media_files.c.bytes, media_files.c.content_type).where(
        media_files.c.state == "kept")
    out: dict[str, KeptFile] = {}
    if urls is None:
        batches: Iterable[Any] = [conn.execute(base)]
    else:
        batches = (conn.execute(base.where(media_files.c.url.in_(part))) for part in _chunks(sorted(set(urls))))
    for rows in batches:
        for r in rows:
            out[r.url] = KeptFile(r.url, r.sha256, int(r.bytes), r.content_type)
    return out


def event_kept_map(conn: Connection, event_id: int) -> dict[str, KeptFile]:
    """URL -> kept file, for the URLs the event's approved posts show (what an export may carry)."""
    ref = referenced_urls(event_id)
    rows = conn.execute(select(media_files.c.url, media_files.c.sha256, media_files.c.bytes,
                               media_files.c.content_type)
                        .where(and_(media_files.c.state == "kept", media_files.c.url.in_(select(ref.c.url)))))
    return {r.url: KeptFile(r.url, r.sha256, int(r.bytes), r.content_type) for r in rows}
