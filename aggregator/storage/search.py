"""Reads for the public surfaces: full-text search, the timeline's facets and chart, featured posts.

Full-text search (objects made by migration 0002):
- SQLite: the FTS5 table `posts_fts` (external content over posts.title, posts.text).
  User input never reaches FTS5's query syntax: it is cut into words, each
  quoted, all required, the last one a prefix ("co-produ" finds "co-production").
- PostgreSQL: `websearch_to_tsquery('simple', q)` against the GIN-indexed
  expression `to_tsvector('simple', title || ' ' || text)`; websearch syntax
  ("quoted phrase", -word, or) is accepted as the user types it.

Every search is a keyset page over the same index as the timeline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.engine import Connection

from aggregator.storage.posts import PostQuery, _select_posts, hydrate, page_from, page_statement
from aggregator.storage.records import PostPage, StoredPost
from aggregator.storage.schema import authors, posts
from aggregator.types import Platform, Status

# Objects of migration 0002 that schema.py does not model (they are dialect-specific).
FTS_OBJECTS = frozenset({"posts_fts", "posts_fts_data", "posts_fts_idx", "posts_fts_docsize",
                         "posts_fts_config", "posts_fts_content", "ix_posts_search"})

# Must be character-for-character the expression of ix_posts_search (migration 0002).
PG_DOCUMENT = "to_tsvector('simple'::regconfig, posts.title || ' ' || posts.text)"
MAX_QUERY_CHARS = 200
_WORD = re.compile(r"\w+", re.UNICODE)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: leave the full-text objects of migration 0002 alone."""
    return not (reflected and name in FTS_OBJECTS)


def fts5_query(query: str) -> str | None:
    """Plain words -> a safe FTS5 MATCH expression ("a" "b"*), or None when there are no words."""
    words = _WORD.findall(query[:MAX_QUERY_CHARS])[:20]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search_clause(dialect: str, query: str) -> Any | None:
    """A WHERE clause matching posts whose title or text match `query`; None when it has no words."""
    query = query.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    if not _WORD.search(query):
        return None
    if dialect == "sqlite":
        match = fts5_query(query)
        return posts.c.id.in_(
            select(literal_column("rowid")).select_from(text("posts_fts"))
            .where(text("posts_fts MATCH :fts_query").bindparams(fts_query=match))
        )
    return literal_column(PG_DOCUMENT).op("@@")(func.websearch_to_tsquery("simple", query[:MAX_QUERY_CHARS]))


def search_page(conn: Connection, event_id: int, q: PostQuery, query: str) -> PostPage:
    """A keyset page like posts.list_posts, of posts matching `query` (all of them if it has no words)."""
    stmt = page_statement(event_id, q)
    clause = search_clause(conn.dialect.name, query)
    if clause is not None:
        stmt = stmt.where(clause)
    return page_from(conn, q, list(conn.execute(stmt)))


@dataclass(frozen=True, slots=True)
class AuthorFacet:
    """An author with approved posts in the event (the timeline's author filter)."""

    id: int
    platform: Platform
    handle: str
    name: str
    posts: int


def author_facets(conn: Connection, event_id: int, limit: int = 200) -> list[AuthorFacet]:
    n = func.count().label("n")
    rows = conn.execute(
        select(authors.c.id, authors.c.platform, authors.c.handle, authors.c.name, n)
        .select_from(posts.join(authors, authors.c.id == posts.c.author_id))
        .where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value)
        .group_by(authors.c.id, authors.c.platform, authors.c.handle, authors.c.name)
        .order_by(n.desc(), authors.c.name)
        .limit(limit)
    )
    return [AuthorFacet(int(r.id), Platform(r.platform), r.handle, r.name, int(r.n)) for r in rows]


def approved_times(conn: Connection, event_id: int, start: datetime, end: datetime) -> list[datetime]:
    """created_at of every approved post in [start, end) (for the posts-per-hour chart)."""
    rows = conn.execute(
        select(posts.c.created_at).where(
            posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value,
            posts.c.created_at >= start, posts.c.created_at < end,
        )
    )
    return [r.created_at for r in rows]


def matching_times(conn: Connection, event_id: int, q: PostQuery, query: str) -> list[datetime]:
    """created_at of every approved post matching `q`'s filters and the full-text `query` ("" for none):
    the timeline's result count and the chart of what matches. (Position and limit of `q` are ignored.)"""
    stmt = select(posts.c.created_at).where(posts.c.event_id == event_id,
                                            posts.c.status.in_([s.value for s in q.statuses]))
    if q.kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in q.kinds]))
    if q.platforms:
        stmt = stmt.where(posts.c.platform.in_([p.value for p in q.platforms]))
    if q.author_id is not None:
        stmt = stmt.where(posts.c.author_id == q.author_id)
    if q.author_ids:
        stmt = stmt.where(posts.c.author_id.in_(q.author_ids))
    clause = search_clause(conn.dialect.name, query) if query else None
    if clause is not None:
        stmt = stmt.where(clause)
    return [r.created_at for r in conn.execute(stmt)]


def same_person_links(conn: Connection, event_id: int) -> list[tuple[int, int]]:
    """Pairs of author ids that dedup judged to be one person (a cross-post folded into the other's post)."""
    original = posts.alias("original")
    rows = conn.execute(
        select(posts.c.author_id, original.c.author_id.label("other")).distinct()
        .select_from(posts.join(original, original.c.id == posts.c.canonical_id))
        .where(posts.c.event_id == event_id, posts.c.dup_kind == "crosspost",
               posts.c.author_id != original.c.author_id)
    )
    return [(int(r.author_id), int(r.other)) for r in rows]


def flagged_posts(conn: Connection, event_id: int, *, featured: bool = False, pinned: bool = False,
                  limit: int = 20) -> list[StoredPost]:
    """Approved posts that are featured (and/or pinned), newest first."""
    stmt = _select_posts().where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value)
    if featured:
        stmt = stmt.where(posts.c.featured.is_(True))
    if pinned:
        stmt = stmt.where(posts.c.pinned.is_(True))
    rows = list(conn.execute(stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(limit)))
    return hydrate(conn, rows)


def posts_by_ids(conn: Connection, event_id: int, ids: Sequence[int]) -> dict[int, StoredPost]:
    """Posts by id (any status); the caller decides what may be shown."""
    if not ids:
        return {}
    rows = list(conn.execute(_select_posts().where(posts.c.event_id == event_id, posts.c.id.in_(sorted(set(ids))))))
    return {p.id: p for p in hydrate(conn, rows)}


def post_by_key(conn: Connection, event_id: int, platform: Platform, external_id: str) -> StoredPost | None:
    rows = list(conn.execute(_select_posts().where(
        posts.c.event_id == event_id, posts.c.platform == platform.value, posts.c.external_id == external_id)))
    return hydrate(conn, rows)[0] if rows else None
