"""The audit log for people: what changed (before -> after, only what differs) and a link to the target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.storage.moderation import AuditEntry

ACTIONS = {
    "approve": "approved", "reject": "rejected", "takedown": "took down", "pin": "pinned", "unpin": "unpinned",
    "feature": "featured", "unfeature": "unfeatured", "block_author": "blocked the author",
    "trust_author": "trusted the author", "clear_author": "cleared the author's standing", "undo": "undid",
    "announce": "announced", "withdraw_announcement": "withdrew an announcement",
    "wall_options": "changed the wall options", "create_user": "added a user", "update_user": "changed a user",
}
FIELDS = {"status": "status", "rule": "why", "detail": "detail", "pinned": "pinned", "featured": "featured",
          "tombstone": "removed because", "standing": "standing"}


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # "post 12: status", "max_cards"
    was: str
    now: str
    href: str  # where the changed thing is ("" when nowhere)


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    at: datetime
    who: str
    action: str
    target: str
    target_href: str
    changes: tuple[Change, ...]


def _show(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value) or "-"
    return str(value)


def _post_href(slug: str, post_id: str) -> str:
    """The queue (every status) opened at this post: ids run newest first, so start just above it."""
    return f"/console/{slug}/queue?status=&before={int(post_id) + 1}#post-{post_id}" if post_id.isdigit() else ""


def _target(e: AuditEntry, slug: str) -> tuple[str, str]:
    kind, ident = e.target_type, e.target_id
    if kind == "post":
        return f"post {ident}", _post_href(slug, ident)
    if kind == "posts":
        return f"{len(ident.split(','))} posts", ""
    if kind == "author":
        return f"author {ident}", f"/console/{slug}/authors/{ident}"
    if kind == "audit":
        return f"entry {ident}", f"#audit-{ident}"
    if kind == "announcement":
        return f"announcement {ident}", f"/console/{slug}/announcements"
    if kind == "wall":
        return "the wall", f"/console/{slug}/wall"
    if kind == "user":
        return f"user {ident}", "/console/users"
    return f"{kind} {ident}", ""


def _flat(before: dict[str, Any], after: dict[str, Any], prefix: str, href: str) -> list[Change]:
    out = []
    for key in dict.fromkeys([*before, *after]):
        was, now = before.get(key), after.get(key)
        if was != now:
            out.append(Change(f"{prefix}{FIELDS.get(key, key.replace('_', ' '))}", _show(was), _show(now), href))
    return out


def changes(e: AuditEntry, slug: str) -> tuple[Change, ...]:
    before, after = dict(e.before or {}), dict(e.after or {})
    out: list[Change] = []
    posts_before, posts_after = before.pop("posts", None), after.pop("posts", None)
    if isinstance(posts_before, dict) or isinstance(posts_after, dict):
        pb, pa = posts_before or {}, posts_after or {}
        for post_id in dict.fromkeys([*pb, *pa]):
            out += _flat(pb.get(post_id) or {}, pa.get(post_id) or {}, f"post {post_id}: ",
                         _post_href(slug, post_id))
    before.pop("action", None)
    after.pop("action", None)
    out += _flat(before, after, "", "")
    return tuple(out)


def view(e: AuditEntry, slug: str) -> EntryView:
    target, href = _target(e, slug)
    action = ACTIONS.get(e.action, e.action.replace("_", " "))
    if e.action == "undo" and e.after and isinstance(e.after.get("action"), str):
        action = f"undid “{ACTIONS.get(e.after['action'], e.after['action'])}”"
    return EntryView(e.id, e.at, e.username, action, target, href, changes(e, slug))
