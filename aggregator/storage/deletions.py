"""Posts deleted at their source: removal, the card's next face, and the re-check's sweep.

A card is a face (status approved/pending/rejected, no canonical_id) and the
copies folded into it (status duplicate, canonical_id -> the face). When the
face is deleted at its source, the copies that still exist on other networks
keep the card: the next copy in dedup's order (earliest, then platform and
id: pipeline/dedup.py's rank) becomes the face, the rest are re-pointed at it,
and the walls get a retraction of the old face and, if the new one may be
shown, an approval of it. Whether it may be shown is decided by the caller's
``decide`` (the moderation rules, pure): a copy never inherits a visibility
that moderation would not give it. A deleted copy leaves the card's links.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection

from aggregator.storage import live
from aggregator.storage.posts import as_post, get_post, insert_for
from aggregator.storage.schema import moderation_decisions, posts, tombstones
from aggregator.types import Decision, Post, PostKey, Status

Decide = Callable[[Post], Decision]
"""The automatic moderation verdict for a post (pipeline/moderate.py, bound to the event's policy)."""

UNDECIDED = Decision(Status.PENDING, "promoted", "no moderation context: held for a moderator")


def remove_at_source(conn: Connection, event_id: int, keys: Sequence[PostKey], reason: str, now: datetime,
                     decide: Decide | None = None) -> int:
    """Posts deleted at their source: removed, tombstoned, retracted; a deleted face hands its card on."""
    removed = 0
    for key in keys:
        conn.execute(insert_for(conn)(tombstones).values(
            event_id=event_id, platform=key.platform.value, external_id=key.external_id, reason=reason,
            created_at=now).on_conflict_do_nothing())
        row = conn.execute(select(posts.c.id, posts.c.status, posts.c.canonical_id, posts.c.dup_kind).where(
            posts.c.event_id == event_id, posts.c.platform == key.platform.value,
            posts.c.external_id == key.external_id)).first()
        if row is None or row.status == Status.REMOVED.value:
            continue
        conn.execute(update(posts).where(posts.c.id == row.id).values(
            status=Status.REMOVED.value, status_rule=reason, status_detail="", updated_at=now, pinned=False,
            featured=False))
        conn.execute(moderation_decisions.insert().values(
            post_id=row.id, status=Status.REMOVED.value, rule=reason, detail="", decided_at=now))
        removed += 1
        if row.status == Status.DUPLICATE.value:
            _copy_gone(conn, event_id, row, now)
            continue
        if row.status == Status.APPROVED.value:
            live.append(conn, event_id, "post.retracted", row.id, now)
        _promote(conn, event_id, row, now, decide)
    return removed


def _copy_gone(conn: Connection, event_id: int, row: Any, now: datetime) -> None:
    """A copy left its card: one link (or one repost) fewer on the face, shown at once if the face is."""
    if row.canonical_id is None:
        return
    if row.dup_kind == "repost":
        conn.execute(update(posts).where(posts.c.id == row.canonical_id).values(
            repost_count=case((posts.c.repost_count > 0, posts.c.repost_count - 1), else_=0)))
    face = conn.execute(select(posts.c.status).where(posts.c.id == row.canonical_id)).first()
    if face is not None and face.status == Status.APPROVED.value:
        live.append(conn, event_id, "post.updated", row.canonical_id, now)


def _promote(conn: Connection, event_id: int, face: Any, now: datetime, decide: Decide | None) -> None:
    folded = list(conn.execute(
        select(posts.c.id, posts.c.created_at, posts.c.platform, posts.c.external_id, posts.c.dup_kind,
               posts.c.pinned, posts.c.featured)
        .where(posts.c.canonical_id == face.id, posts.c.status == Status.DUPLICATE.value)))
    # Reposts carry no content of their own (and a repost of the deleted post is gone with
    # it): only a copy can front the card. Dedup's rank: earliest, then platform, then id.
    copies = sorted((r for r in folded if r.dup_kind != "repost"),
                    key=lambda r: (r.created_at, r.platform, r.external_id))
    if not copies:
        return
    new = copies[0]
    old = conn.execute(select(posts.c.pinned, posts.c.featured).where(posts.c.id == face.id)).first()
    stored = get_post(conn, event_id, new.id)
    assert stored is not None
    decision = decide(as_post(stored)) if decide is not None else UNDECIDED
    status = _inherited(Status(face.status), decision)
    reposts = sum(1 for r in folded if r.dup_kind == "repost")
    others = [r.id for r in folded if r.id != new.id]
    if others:
        conn.execute(update(posts).where(posts.c.id.in_(others)).values(canonical_id=new.id))
    shown = status is Status.APPROVED
    rule = decision.rule if status is decision.status else f"promoted:{face.status}"
    conn.execute(update(posts).where(posts.c.id == new.id).values(
        status=status.value, status_rule=rule, status_detail=decision.detail, canonical_id=None, dup_kind=None,
        repost_count=reposts, updated_at=now,
        pinned=shown and old is not None and bool(old.pinned),
        featured=shown and old is not None and bool(old.featured)))
    conn.execute(moderation_decisions.insert().values(
        post_id=new.id, status=status.value, rule=f"promoted:{decision.rule}", detail=decision.detail,
        decided_at=now))
    if shown:
        live.append(conn, event_id, "post.approved", new.id, now)


def _inherited(face: Status, decision: Decision) -> Status:
    """The new face's status: never more visible than the card was, nor than moderation allows."""
    if face is Status.APPROVED:
        return decision.status
    if face is Status.PENDING:
        return Status.REJECTED if decision.status is Status.REJECTED else Status.PENDING
    return Status.REJECTED


def recheck_page(conn: Connection, event_id: int, source_id: int, after_id: int, limit: int
                 ) -> list[tuple[int, str]]:
    """(id, external id) of a source's posts still standing (shown, held or folded into a card),
    by id after `after_id`: one page of the deletion re-check's sweep."""
    rows = conn.execute(
        select(posts.c.id, posts.c.external_id)
        .where(posts.c.event_id == event_id, posts.c.source_id == source_id, posts.c.id > after_id,
               posts.c.status.in_([Status.APPROVED.value, Status.PENDING.value, Status.DUPLICATE.value]))
        .order_by(posts.c.id)
        .limit(limit)
    )
    return [(int(r.id), r.external_id) for r in rows]


def recheck_newest(conn: Connection, event_id: int, source_id: int, since: datetime, limit: int) -> list[str]:
    """External ids of a source's newest standing posts (deletions come soonest after posting)."""
    rows = conn.execute(
        select(posts.c.external_id)
        .where(posts.c.event_id == event_id, posts.c.source_id == source_id, posts.c.created_at >= since,
               posts.c.status.in_([Status.APPROVED.value, Status.PENDING.value, Status.DUPLICATE.value]))
        .order_by(posts.c.created_at.desc(), posts.c.id.desc())
        .limit(limit)
    )
    return [r.external_id for r in rows]
