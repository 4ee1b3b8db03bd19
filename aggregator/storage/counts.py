"""Reads of the counts kept as posts change (post_counts, author_counts; migration 0010a's triggers).

The timeline's chart, its author filter and its result count read these or a
bounded index range, never every post of the event: with a million posts a
per-request GROUP BY or a load of every time costs seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, func, select
from sqlalchemy.engine import Connection

from aggregator.storage.schema import author_counts, authors, post_counts, posts
from aggregator.types import Platform, PostKind, Status

SLOT_SECONDS = 900  # 15 minutes: every time zone's offset is a whole number of slots
MATCH_CAP = 10_000  # beyond this a filtered count reads "10,000+" and draws no chart of its own


def slot_of(when: datetime) -> int:
    return int(when.timestamp()) // SLOT_SECONDS


def _hours(start: datetime, end: datetime) -> int:
    return max(1, int((end - start).total_seconds() // 3600))


def _bin(slots: Sequence[tuple[int, int]], start: datetime, end: datetime) -> list[int]:
    """(slot, n) pairs -> n per hour of [start, end) (start is a whole hour of the event's time zone)."""
    counts = [0] * _hours(start, end)
    origin = int(start.timestamp())
    for slot, n in slots:
        i = (slot * SLOT_SECONDS - origin) // 3600
        if 0 <= i < len(counts):
            counts[i] += n
    return counts


def hour_counts(conn: Connection, event_id: int, start: datetime, end: datetime,
                platforms: Sequence[Platform] = (), kinds: Sequence[PostKind] = ()) -> list[int]:
    """Approved posts per hour of [start, end), optionally of some networks and kinds (kept counts)."""
    stmt = (
        select(post_counts.c.slot, func.sum(post_counts.c.n))
        .where(post_counts.c.event_id == event_id, post_counts.c.slot >= slot_of(start),
               post_counts.c.slot < slot_of(end))
        .group_by(post_counts.c.slot)
    )
    if platforms:
        stmt = stmt.where(post_counts.c.platform.in_([p.value for p in platforms]))
    if kinds:
        stmt = stmt.where(post_counts.c.kind.in_([k.value for k in kinds]))
    return _bin([(int(s), int(n or 0)) for s, n in conn.execute(stmt)], start, end)


def approved_total(conn: Connection, event_id: int, platforms: Sequence[Platform] = (),
                   kinds: Sequence[PostKind] = ()) -> int:
    """Approved posts of the event, optionally of some networks and kinds (kept counts)."""
    stmt = select(func.coalesce(func.sum(post_counts.c.n), 0)).where(post_counts.c.event_id == event_id)
    if platforms:
        stmt = stmt.where(post_counts.c.platform.in_([p.value for p in platforms]))
    if kinds:
        stmt = stmt.where(post_counts.c.kind.in_([k.value for k in kinds]))
    return int(conn.execute(stmt).scalar_one())


@dataclass(frozen=True, slots=True)
class AuthorCount:
    id: int
    platform: Platform
    handle: str
    name: str
    posts: int


def top_authors(conn: Connection, event_id: int, limit: int = 200) -> list[AuthorCount]:
    """The authors with the most approved posts (most first, then by name), from kept counts."""
    # The limit-th largest count first (an index range), then only the rows at or above it: ties at the
    # edge are ordered by name like the rest without sorting every author of the event.
    floor = conn.execute(
        select(author_counts.c.n).where(author_counts.c.event_id == event_id, author_counts.c.n > 0)
        .order_by(author_counts.c.n.desc()).offset(max(0, limit - 1)).limit(1)
    ).scalar_one_or_none()
    rows = conn.execute(
        select(authors.c.id, authors.c.platform, authors.c.handle, authors.c.name, author_counts.c.n)
        .select_from(author_counts.join(authors, authors.c.id == author_counts.c.author_id))
        .where(author_counts.c.event_id == event_id, author_counts.c.n >= max(1, floor or 1))
        .order_by(author_counts.c.n.desc(), authors.c.name)
        .limit(limit)
    )
    return [AuthorCount(int(r.id), Platform(r.platform), r.handle, r.name, int(r.n)) for r in rows]


def author_totals(conn: Connection, event_id: int, author_ids: Sequence[int]) -> dict[int, int]:
    """Approved posts of each of these authors in the event (kept counts)."""
    if not author_ids:
        return {}
    rows = conn.execute(select(author_counts.c.author_id, author_counts.c.n).where(
        author_counts.c.event_id == event_id, author_counts.c.author_id.in_(sorted(set(author_ids)))))
    return {int(a): int(n) for a, n in rows}


@dataclass(frozen=True, slots=True)
class Matches:
    """What a filtered timeline matches: how many, and per hour of the day when counted exactly."""

    total: int
    capped: bool  # more than `total` (= MATCH_CAP) matched; `hours` is then None
    hours: list[int] | None


def slot_expression(dialect: str, created_at: Any) -> Any:
    """The slot of a created_at column in SQL (as migration 0010a's triggers compute it)."""
    if dialect == "sqlite":
        seconds = func.cast(func.strftime("%s", func.substr(created_at, 1, 19)), Integer)
        return seconds // SLOT_SECONDS
    return func.cast(func.floor(func.extract("epoch", created_at) / SLOT_SECONDS), BigInteger)


def bounded_matches(conn: Connection, stmt: Any, start: datetime, end: datetime, cap: int = MATCH_CAP) -> Matches:
    """`stmt` selects created_at of matching posts: count at most cap + 1 of them, per slot, in SQL
    (a few dozen rows come back, never the matches themselves)."""
    inner = stmt.limit(cap + 1).subquery()
    if conn.execute(select(func.count()).select_from(inner)).scalar_one() > cap:
        return Matches(cap, True, None)
    slot = slot_expression(conn.dialect.name, inner.c.created_at).label("slot")
    rows = [(int(s), int(n)) for s, n in conn.execute(select(slot, func.count()).group_by(slot))]
    total = sum(n for _, n in rows)
    if total > cap:
        return Matches(cap, True, None)
    return Matches(total, False, _bin(rows, start, end))


def recount(conn: Connection) -> tuple[dict[tuple[int, int, str, str], int], dict[tuple[int, int], int]]:
    """The kept counts computed afresh from posts (for tests and for checking a database by hand)."""
    per_slot: dict[tuple[int, int, str, str], int] = {}
    per_author: dict[tuple[int, int], int] = {}
    for r in conn.execute(select(posts.c.event_id, posts.c.created_at, posts.c.platform, posts.c.kind,
                                 posts.c.author_id).where(posts.c.status == Status.APPROVED.value)):
        key = (int(r.event_id), slot_of(r.created_at), r.platform, r.kind)
        per_slot[key] = per_slot.get(key, 0) + 1
        per_author[(int(r.event_id), int(r.author_id))] = per_author.get((int(r.event_id), int(r.author_id)), 0) + 1
    return per_slot, per_author


def kept(conn: Connection) -> tuple[dict[tuple[int, int, str, str], int], dict[tuple[int, int], int]]:
    """The kept counts as stored (zero rows left out)."""
    per_slot = {(int(r.event_id), int(r.slot), r.platform, r.kind): int(r.n)
                for r in conn.execute(select(post_counts).where(post_counts.c.n != 0))}
    per_author = {(int(r.event_id), int(r.author_id)): int(r.n)
                  for r in conn.execute(select(author_counts).where(author_counts.c.n != 0))}
    return per_slot, per_author
