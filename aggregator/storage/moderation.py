"""Human moderation: post actions, author standing, undo, the queue and the audit log.

Every action runs inside the caller's one transaction and writes, together:
the change itself, a `moderation_decisions` row (rule "human:<username>") for
each post whose status changed, one `audit_log` row (before and after), and
the live-event rows the public screens need. Live-event kinds written here:

  post.approved    a post became visible (payload: pinned, featured)
  post.retracted   a visible post is no longer (rejected, taken down, undone)
  post.pinned / post.unpinned / post.featured / post.unfeatured
                   a visible post's flags changed (payload: pinned, featured)

Audit rows keep the state of every touched post as {"posts": {"<id>": snapshot}}
and, for author actions, {"author": {"id", "standing"}}; undo restores the
"before" side of a user's latest action where nothing else has changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import Connection

from aggregator.storage import live
from aggregator.storage.authors import set_standing
from aggregator.storage.posts import _select_posts, hydrate
from aggregator.storage.records import StoredPost
from aggregator.storage.schema import (
    audit_log,
    author_rules,
    authors,
    moderation_decisions,
    posts,
    stories,
    tombstones,
)
from aggregator.types import Author, Platform, Status

POST_ACTIONS = ("approve", "reject", "takedown", "pin", "unpin", "feature", "unfeature")
AUTHOR_ACTIONS = {"block": "blocked", "trust": "trusted", "clear": None}  # action -> standing
UNDOABLE = (*POST_ACTIONS, "block_author", "trust_author", "clear_author")
TOMBSTONE_REJECTED = "rejected"
TOMBSTONE_TAKEN_DOWN = "taken_down"
UNDO_SCAN = 500  # how far back undo looks for the user's latest action


class ActionError(ValueError):
    """An action that cannot be done (unknown action, unknown post or author)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a console user (or the CLI, with user_id None)."""

    user_id: int | None
    username: str

    @property
    def rule(self) -> str:
        return f"human:{self.username}"


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    changed: tuple[int, ...]  # posts whose state changed
    skipped: tuple[int, ...]  # posts the action did not apply to (or, for undo, changed since by someone)
    audit_id: int | None  # None when nothing changed (no audit row is written)
    live_events: int = 0
    undone_audit_id: int | None = None  # undo: the audit row it reverted


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    event_id: int | None
    user_id: int | None
    username: str
    action: str
    target_type: str  # post / posts / author / audit / announcement / wall / user
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """Filters for the console's lists of posts (any status), newest first by id."""

    statuses: tuple[Status, ...] = (Status.PENDING,)
    platforms: tuple[Platform, ...] = ()
    rule: str = ""  # exact status_rule, or "human:*" for any human decision
    author_id: int | None = None
    before_id: int | None = None  # older than this id (next page)
    after_id: int | None = None  # newer than this id (arrivals since the page was drawn)
    limit: int = 50


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    id: int
    author: Author
    standing: str | None  # trusted / blocked / reporter for this event, or None


Snapshot = dict[str, Any]  # status, rule, detail, pinned, featured, tombstone


# ---- state of posts --------------------------------------------------------------------------------------


def _rows(conn: Connection, event_id: int, post_ids: Sequence[int]) -> dict[int, Any]:
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(posts.c.id, posts.c.platform, posts.c.external_id, posts.c.status, posts.c.status_rule,
               posts.c.status_detail, posts.c.pinned, posts.c.featured, posts.c.author_id, tombstones.c.reason)
        .outerjoin(tombstones, and_(tombstones.c.event_id == posts.c.event_id,
                                    tombstones.c.platform == posts.c.platform,
                                    tombstones.c.external_id == posts.c.external_id))
        .where(posts.c.event_id == event_id, posts.c.id.in_(ids))
    )
    return {int(r.id): r for r in rows}


def _snap(row: Any) -> Snapshot:
    return {
        "status": row.status,
        "rule": row.status_rule,
        "detail": row.status_detail,
        "pinned": bool(row.pinned),
        "featured": bool(row.featured),
        "tombstone": row.reason,
    }


def next_state(action: str, old: Snapshot, actor: Actor) -> Snapshot | None:
    """The state `action` leads to, or None when it does not apply (pure)."""
    status = old["status"]
    new = dict(old)
    human = {"rule": actor.rule, "detail": action}
    if action == "approve":
        if status not in (Status.PENDING, Status.REJECTED):
            return None
        new.update(status=Status.APPROVED.value, **human)
        if old["tombstone"] == TOMBSTONE_REJECTED:
            new["tombstone"] = None
    elif action == "reject":
        if status not in (Status.PENDING, Status.APPROVED):
            return None
        new.update(status=Status.REJECTED.value, pinned=False, featured=False, **human)
        new["tombstone"] = old["tombstone"] or TOMBSTONE_REJECTED
    elif action == "takedown":
        if status == Status.REMOVED and old["tombstone"]:
            return None
        new.update(status=Status.REMOVED.value, pinned=False, featured=False, tombstone=TOMBSTONE_TAKEN_DOWN,
                   **human)
    elif action in ("pin", "feature"):
        flag = "pinned" if action == "pin" else "featured"
        if status not in (Status.PENDING, Status.APPROVED) or old[flag]:
            return None
        new[flag] = True
        if status == Status.PENDING:  # pinning or featuring a queued post shows it
            new.update(status=Status.APPROVED.value, **human)
    elif action in ("unpin", "unfeature"):
        flag = "pinned" if action == "unpin" else "featured"
        if not old[flag]:
            return None
        new[flag] = False
    else:
        raise ActionError(f"unknown action {action!r}")
    return new


def _live_kinds(old: Snapshot, new: Snapshot) -> list[str]:
    """Which live events take the public screens from `old` to `new` (pure)."""
    was = old["status"] == Status.APPROVED
    now = new["status"] == Status.APPROVED
    if was and not now:
        return ["post.retracted"]
    if now and not was:
        return ["post.approved"]
    if not now:
        return []
    kinds = []
    if old["pinned"] != new["pinned"]:
        kinds.append("post.pinned" if new["pinned"] else "post.unpinned")
    if old["featured"] != new["featured"]:
        kinds.append("post.featured" if new["featured"] else "post.unfeatured")
    return kinds


def _apply(conn: Connection, event_id: int, row: Any, old: Snapshot, new: Snapshot, actor: Actor, action: str,
           now: datetime) -> int:
    """Write one post's new state; returns the number of live events appended."""
    conn.execute(update(posts).where(posts.c.id == row.id).values(
        status=new["status"], status_rule=new["rule"], status_detail=new["detail"], pinned=new["pinned"],
        featured=new["featured"], updated_at=now))
    if new["status"] != old["status"]:
        conn.execute(moderation_decisions.insert().values(
            post_id=row.id, status=new["status"], rule=actor.rule, detail=action, user_id=actor.user_id,
            decided_at=now))
    if new["tombstone"] != old["tombstone"]:
        key = (tombstones.c.event_id == event_id, tombstones.c.platform == row.platform,
               tombstones.c.external_id == row.external_id)
        conn.execute(delete(tombstones).where(*key))
        if new["tombstone"] is not None:
            conn.execute(tombstones.insert().values(event_id=event_id, platform=row.platform,
                                                    external_id=row.external_id, reason=new["tombstone"],
                                                    created_at=now))
    count = 0
    for kind in _live_kinds(old, new):
        count += live.append(conn, event_id, kind, int(row.id), now,
                             {"pinned": new["pinned"], "featured": new["featured"]})
    return count


def _audit(conn: Connection, event_id: int | None, actor: Actor, action: str, target_type: str, target_id: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None, now: datetime) -> int:
    return int(conn.execute(audit_log.insert().values(
        event_id=event_id, user_id=actor.user_id, username=actor.username, action=action,
        target_type=target_type, target_id=target_id, before=before, after=after, at=now,
    ).returning(audit_log.c.id)).scalar_one())


def record_audit(conn: Connection, event_id: int | None, actor: Actor, action: str, target_type: str,
                 target_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None, now: datetime) -> int:
    """An audit row for actions outside this module (users, announcements, wall options)."""
    return _audit(conn, event_id, actor, action, target_type, target_id, before, after, now)


# ---- actions ---------------------------------------------------------------------------------------------


def act_on_posts(conn: Connection, event_id: int, post_ids: Sequence[int], action: str, actor: Actor,
                 now: datetime) -> ActionResult:
    if action not in POST_ACTIONS:
        raise ActionError(f"unknown action {action!r}: use one of {', '.join(POST_ACTIONS)}")
    rows = _rows(conn, event_id, post_ids)
    before: dict[str, Snapshot] = {}
    after: dict[str, Snapshot] = {}
    skipped: list[int] = [i for i in dict.fromkeys(post_ids) if i not in rows]
    live_count = 0
    for post_id, row in rows.items():
        old = _snap(row)
        new = next_state(action, old, actor)
        if new is None or new == old:
            skipped.append(post_id)
            continue
        live_count += _apply(conn, event_id, row, old, new, actor, action, now)
        before[str(post_id)], after[str(post_id)] = old, new
    if not after:
        return ActionResult(action, (), tuple(skipped), None)
    changed = tuple(int(k) for k in after)
    target_type, target_id = ("post", str(changed[0])) if len(changed) == 1 else ("posts", ",".join(after))
    audit_id = _audit(conn, event_id, actor, action, target_type, target_id, {"posts": before}, {"posts": after},
                      now)
    return ActionResult(action, changed, tuple(skipped), audit_id, live_count)


def _standing(conn: Connection, event_id: int, author_id: int) -> str | None:
    return conn.execute(select(author_rules.c.standing).where(
        author_rules.c.event_id == event_id, author_rules.c.author_id == author_id)).scalar()


def act_on_author(conn: Connection, event_id: int, author_id: int, action: str, actor: Actor,
                  now: datetime) -> ActionResult:
    """block / trust / clear an author's standing; blocking also rejects their pending and visible posts."""
    if action not in AUTHOR_ACTIONS:
        raise ActionError(f"unknown author action {action!r}: use block, trust or clear")
    if conn.execute(select(authors.c.id).where(authors.c.id == author_id)).first() is None:
        raise ActionError(f"no author {author_id}")
    standing = AUTHOR_ACTIONS[action]
    old_standing = _standing(conn, event_id, author_id)
    before: dict[str, Any] = {"author": {"id": author_id, "standing": old_standing}, "posts": {}}
    after: dict[str, Any] = {"author": {"id": author_id, "standing": standing}, "posts": {}}
    if old_standing != standing:
        set_standing(conn, event_id, author_id, standing, actor.user_id, now)
    live_count = 0
    changed: list[int] = []
    if action == "block":
        ids = [int(i) for i in conn.execute(select(posts.c.id).where(
            posts.c.event_id == event_id, posts.c.author_id == author_id,
            posts.c.status.in_([Status.PENDING.value, Status.APPROVED.value]))).scalars()]
        for post_id, row in _rows(conn, event_id, ids).items():
            old = _snap(row)
            new = next_state("reject", old, actor)
            if new is None:
                continue
            live_count += _apply(conn, event_id, row, old, new, actor, "block_author", now)
            before["posts"][str(post_id)], after["posts"][str(post_id)] = old, new
            changed.append(post_id)
    if old_standing == standing and not changed:
        return ActionResult(f"{action}_author", (), (), None)
    audit_id = _audit(conn, event_id, actor, f"{action}_author", "author", str(author_id), before, after, now)
    return ActionResult(f"{action}_author", tuple(changed), (), audit_id, live_count)


def undo_last(conn: Connection, event_id: int, actor: Actor, now: datetime) -> ActionResult | None:
    """Revert the actor's latest undoable action in this event that is not undone yet; None if there is none.

    A post (or the author's standing) that someone changed after that action is
    left alone and reported as skipped: undo never overwrites a later decision.
    """
    who = audit_log.c.user_id == actor.user_id if actor.user_id is not None else and_(
        audit_log.c.user_id.is_(None), audit_log.c.username == actor.username)
    rows = list(conn.execute(
        select(audit_log).where(audit_log.c.event_id == event_id, who,
                                audit_log.c.action.in_([*UNDOABLE, "undo"]))
        .order_by(audit_log.c.id.desc()).limit(UNDO_SCAN)
    ))
    undone = {r.target_id for r in rows if r.action == "undo"}
    target = next((r for r in rows if r.action != "undo" and str(r.id) not in undone), None)
    if target is None:
        return None
    was: dict[str, Any] = dict(target.before or {})
    did: dict[str, Any] = dict(target.after or {})
    before: dict[str, Any] = {"posts": {}}
    after: dict[str, Any] = {"posts": {}}
    changed: list[int] = []
    skipped: list[int] = []
    live_count = 0
    author = was.get("author")
    if author is not None:
        current = _standing(conn, event_id, int(author["id"]))
        if current == did["author"]["standing"]:
            set_standing(conn, event_id, int(author["id"]), author["standing"], actor.user_id, now)
            before["author"] = {"id": author["id"], "standing": current}
            after["author"] = dict(author)
    old_posts: dict[str, Snapshot] = was.get("posts", {})
    rows_now = _rows(conn, event_id, [int(k) for k in old_posts])
    for key, restore in old_posts.items():
        row = rows_now.get(int(key))
        if row is None:
            skipped.append(int(key))
            continue
        current_snap = _snap(row)
        if current_snap != did["posts"].get(key):
            skipped.append(int(key))
            continue
        live_count += _apply(conn, event_id, row, current_snap, dict(restore), actor, "undo", now)
        before["posts"][key], after["posts"][key] = current_snap, dict(restore)
        changed.append(int(key))
    audit_id = _audit(conn, event_id, actor, "undo", "audit", str(target.id),
                      {**before, "action": target.action}, {**after, "action": target.action}, now)
    return ActionResult("undo", tuple(changed), tuple(skipped), audit_id, live_count, undone_audit_id=int(target.id))


# ---- reads -----------------------------------------------------------------------------------------------


def queue(conn: Connection, event_id: int, q: QueueQuery) -> list[StoredPost]:
    stmt = _select_posts().where(posts.c.event_id == event_id)
    if q.statuses:
        stmt = stmt.where(posts.c.status.in_([s.value for s in q.statuses]))
    if q.platforms:
        stmt = stmt.where(posts.c.platform.in_([p.value for p in q.platforms]))
    if q.rule == "human:*":
        stmt = stmt.where(posts.c.status_rule.like("human:%"))
    elif q.rule:
        stmt = stmt.where(posts.c.status_rule == q.rule)
    if q.author_id is not None:
        stmt = stmt.where(posts.c.author_id == q.author_id)
    if q.before_id is not None:
        stmt = stmt.where(posts.c.id < q.before_id)
    if q.after_id is not None:
        stmt = stmt.where(posts.c.id > q.after_id)
    rows = list(conn.execute(stmt.order_by(posts.c.id.desc()).limit(q.limit)))
    return hydrate(conn, rows)


def author_record(conn: Connection, event_id: int, author_id: int) -> AuthorRecord | None:
    row = conn.execute(select(authors).where(authors.c.id == author_id)).first()
    if row is None:
        return None
    author = Author(platform=Platform(row.platform), external_id=row.external_id, handle=row.handle,
                    name=row.name, avatar_url=row.avatar_url, profile_url=row.profile_url, bot=bool(row.bot))
    return AuthorRecord(int(row.id), author, _standing(conn, event_id, author_id))


MODERATION_TARGETS = ("post", "posts", "author", "audit")  # what moderators' own actions touch


def audit_entries(conn: Connection, event_id: int | None, limit: int = 200,
                  before_id: int | None = None, target_types: tuple[str, ...] = ()) -> list[AuditEntry]:
    """Newest first; event_id None lists the server-wide rows (users)."""
    cond = audit_log.c.event_id == event_id if event_id is not None else audit_log.c.event_id.is_(None)
    stmt = select(audit_log).where(cond)
    if target_types:
        stmt = stmt.where(audit_log.c.target_type.in_(target_types))
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    return [
        AuditEntry(r.id, r.event_id, r.user_id, r.username, r.action, r.target_type, r.target_id, r.before,
                   r.after, r.at)
        for r in conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit))
    ]


def is_tombstoned(conn: Connection, event_id: int, platform: str, external_id: str) -> str | None:
    return conn.execute(select(tombstones.c.reason).where(
        tombstones.c.event_id == event_id, tombstones.c.platform == platform,
        tombstones.c.external_id == external_id)).scalar()


__all__ = [
    "AUTHOR_ACTIONS",
    "POST_ACTIONS",
    "ActionError",
    "ActionResult",
    "Actor",
    "AuditEntry",
    "AuthorRecord",
    "QueueQuery",
    "act_on_author",
    "act_on_posts",
    "audit_entries",
    "author_record",
    "next_state",
    "queue",
    "record_audit",
    "undo_last",
]


def published_story_slugs(conn: Connection, event_id: int) -> list[tuple[str, str]]:
    """(slug, title) of the event's published stories, for the embed snippets page."""
    rows = conn.execute(select(stories.c.slug, stories.c.title).where(
        stories.c.event_id == event_id, stories.c.status == "published").order_by(stories.c.title))
    return [(r.slug, r.title) for r in rows]
