"""What exports and feeds read: approved cards in time order (keyset batches), takedowns, figures.

Every reader here returns approved posts only; the backup's extra reads
(every state, the audit log, drafts, users) live beside them and are used only
by `export --backup`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.engine import Connection

from aggregator.storage.posts import _select_posts, hydrate
from aggregator.storage.records import PageCursor, StoredPost
from aggregator.storage.schema import moderation_decisions, posts, tombstones
from aggregator.types import PostKind, Status


@dataclass(frozen=True, slots=True)
class Removal:
    """One tombstone: what was removed (no content) and why."""

    platform: str
    external_id: str
    reason: str  # taken_down / deleted_at_source / rejected ...
    removed_at: datetime


def approved_batch(conn: Connection, event_id: int, after: PageCursor | None, limit: int,
                   kinds: Sequence[PostKind] = ()) -> list[StoredPost]:
    """The next `limit` approved cards after `after`, oldest first."""
    stmt = _select_posts().where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value)
    if kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in kinds]))
    if after is not None:
        stmt = stmt.where(tuple_(posts.c.created_at, posts.c.id) > tuple_(after.created_at, after.id))
    rows = list(conn.execute(stmt.order_by(posts.c.created_at.asc(), posts.c.id.asc()).limit(limit)))
    return hydrate(conn, rows)


def approved_count(conn: Connection, event_id: int, kinds: Sequence[PostKind] = ()) -> int:
    stmt = select(func.count()).select_from(posts).where(posts.c.event_id == event_id,
                                                         posts.c.status == Status.APPROVED.value)
    if kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in kinds]))
    return int(conn.execute(stmt).scalar_one())


def removals(conn: Connection, event_id: int, since: datetime | None = None, limit: int = 100_000) -> list[Removal]:
    stmt = select(tombstones).where(tombstones.c.event_id == event_id)
    if since is not None:
        stmt = stmt.where(tombstones.c.created_at >= since)
    rows = conn.execute(stmt.order_by(tombstones.c.created_at, tombstones.c.platform, tombstones.c.external_id)
                        .limit(limit))
    return [Removal(r.platform, r.external_id, r.reason, r.created_at) for r in rows]


def moderation_counts(conn: Connection, event_id: int) -> list[tuple[str, str, int]]:
    """(status, rule, posts) of every post's current state: the report's moderation summary."""
    rows: Any = conn.execute(
        select(posts.c.status, posts.c.status_rule, func.count())
        .where(posts.c.event_id == event_id)
        .group_by(posts.c.status, posts.c.status_rule)
        .order_by(posts.c.status, func.count().desc())
    )
    return [(str(s), str(r), int(n)) for s, r, n in rows]


def decisions_count(conn: Connection, event_id: int) -> int:
    joined = moderation_decisions.join(posts, posts.c.id == moderation_decisions.c.post_id)
    stmt = select(func.count()).select_from(joined).where(posts.c.event_id == event_id)
    return int(conn.execute(stmt).scalar_one())


def crosspost_authors(conn: Connection, event_id: int) -> list[tuple[int, int]]:
    """(author of a folded copy, author of the card it was folded into) for cross-posts, not reposts."""
    face = posts.alias("face")
    rows = conn.execute(
        select(posts.c.author_id, face.c.author_id.label("face_author"))
        .select_from(posts.join(face, face.c.id == posts.c.canonical_id))
        .where(posts.c.event_id == event_id, posts.c.dup_kind != "repost", posts.c.status == Status.DUPLICATE.value,
               face.c.status == Status.APPROVED.value)
    )
    return [(int(a), int(b)) for a, b in rows if a != b]
