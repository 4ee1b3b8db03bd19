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

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text, true
from sqlalchemy.engine import Connection

from aggregator.storage import counts
from aggregator.storage.posts import PostQuery, _select_posts, hydrate, page_from, page_ids_statement, rows_for
from aggregator.storage.records import PostPage, StoredPost
from aggregator.storage.schema import posts
from aggregator.types import Platform, Status

# Objects of migration 0002 that schema.py does not model (they are dialect-specific).
FTS_OBJECTS = frozenset({"posts_fts", "posts_fts_vocab", "posts_fts_data", "posts_fts_idx", "posts_fts_docsize",
                         "posts_fts_config", "posts_fts_content", "ix_posts_search"})

# Must be character-for-character the expression of ix_posts_search (migration 0002).
PG_DOCUMENT = "to_tsvector('simple'::regconfig, posts.title || ' ' || posts.text)"
MAX_QUERY_CHARS = 200
_WORD = re.compile(r"\w+", re.UNICODE)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: leave the full-text objects of migration 0002 alone."""
    return not (reflected and name in FTS_OBJECTS)


def fts5_query(query: str, prefix: bool = True) -> str | None:
    """Plain words -> a safe FTS5 MATCH expression ("a" "b"*, or "a" "b" without the prefix), or None
    when there are no words."""
    words = _WORD.findall(query[:MAX_QUERY_CHARS])[:20]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix:
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


RARE_MATCHES = 1000  # up to this many matches, page over the matching ids themselves
COMMON_ESTIMATE = 50_000  # PostgreSQL: a word estimated to match this many posts is walked to


def _fts_ids(conn: Connection, match: str, limit: int) -> list[int]:
    return [r[0] for r in conn.execute(
        text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :q LIMIT :n"), {"q": match, "n": limit})]


def _sqlite_plan(conn: Connection, query: str) -> tuple[str, list[int] | None] | None:
    """SQLite: the cheaper of two plans for one query, so a page reads about a page's worth of rows
    instead of every match or every post: (the MATCH expression, and the matching ids when they are
    few). A rare query's matches (at most RARE_MATCHES, read from FTS5 with a LIMIT) become an id list
    the page is cut from. A common one is checked row by row while the keyset index is walked (FTS5
    seeks each rowid). That probe is cheap for whole words only (a prefix merges every term it covers,
    per row), so a search whose whole words are common matches whole words, as PostgreSQL's does;
    otherwise the last word is a prefix, spelt out as the words it covers (_expanded) where it can be."""
    match = fts5_query(query.replace("\x00", ""))
    whole = fts5_query(query.replace("\x00", ""), prefix=False)
    if match is None or whole is None:
        return None
    # Whole words first: FTS5 streams their matches, while a prefix merges every term it covers before
    # the first row (a common prefix costs as much as reading all of its matches).
    if len(_fts_ids(conn, whole, RARE_MATCHES + 1)) > RARE_MATCHES:
        return whole, None
    # The last word as a prefix: spelt out as the words it covers, whose counts say how common it is.
    match = _expanded(conn, query) or match
    found = _fts_ids(conn, match, RARE_MATCHES + 1)
    return match, (found if len(found) <= RARE_MATCHES else None)


PREFIX_TERMS = 32


def _expanded(conn: Connection, query: str) -> str | None:
    """The words with the last one's prefix spelt out as the indexed words it covers ("a" AND ("b1" OR
    "b2")), read from the vocabulary (posts_fts_vocab, migration 0010a); None when it covers more than
    PREFIX_TERMS words. Each is then a whole-word lookup per probed row, not a merge of the prefix."""
    words = _WORD.findall(query[:MAX_QUERY_CHARS])[:20]
    last = "".join(c for c in unicodedata.normalize("NFKD", words[-1].lower()) if not unicodedata.combining(c))
    if not last:
        return None
    terms = [r[0] for r in conn.execute(
        text("SELECT term FROM posts_fts_vocab WHERE term >= :lo AND term < :hi LIMIT :n"),
        {"lo": last, "hi": last[:-1] + chr(ord(last[-1]) + 1), "n": PREFIX_TERMS + 1})]
    if not terms or len(terms) > PREFIX_TERMS:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words[:-1]]
    return " AND ".join([*quoted, "(" + " OR ".join('"' + t.replace('"', '""') + '"' for t in terms) + ")"])


def match_clause(conn: Connection, query: str) -> Any | None:
    """search_clause, with the plan picked by how many posts match (see _sqlite_plan): an id list for
    a rare query, a per-row check while the keyset index is walked for a common one."""
    if conn.dialect.name != "sqlite":
        clause = search_clause(conn.dialect.name, query)
        if clause is None:
            return None
        # A common word (by the planner's estimate from the index's word statistics): the keyset walk
        # meets a match every few rows. Otherwise the matches come from the GIN index (sequential scans
        # priced out: with a LIMIT the planner would compute tsvectors row by row) and, when few, become
        # the id list the page is cut from. Left alone, the planner walked the keyset index with a rare
        # word, computing every post's tsvector (50 s at a million posts).
        candidates = select(posts.c.id).where(clause)
        if _estimate(conn, candidates) >= COMMON_ESTIMATE:
            return clause
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        try:
            few = [int(r[0]) for r in conn.execute(candidates.limit(RARE_MATCHES + 1))]
        finally:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
        return posts.c.id.in_(few) if len(few) <= RARE_MATCHES else clause
    plan = _sqlite_plan(conn, query) if _WORD.search(query) else None
    if plan is None:
        return None
    match, ids = plan
    if ids is not None:
        return posts.c.id.in_(ids)
    probe: Any = (select(literal_column("1")).select_from(text("posts_fts"))
                  .where(text("posts_fts MATCH :fts_query").bindparams(fts_query=match),
                         literal_column("posts_fts.rowid") == posts.c.id))
    return probe.exists()


def search_page(conn: Connection, event_id: int, q: PostQuery, query: str) -> PostPage:
    """A keyset page like posts.list_posts, of posts matching `query` (all of them if it has no words)."""
    stmt = page_ids_statement(event_id, q)
    clause = match_clause(conn, query)
    if clause is not None:
        stmt = stmt.where(clause)
    return page_from(conn, q, rows_for(conn, stmt))


def filtered_matches(conn: Connection, event_id: int, q: PostQuery, query: str, start: datetime,
                     end: datetime) -> counts.Matches:
    """How many approved posts match `q`'s filters and the search `query` ("" for none), and per hour of
    [start, end): from kept counts when only networks and kinds filter, else from at most
    counts.MATCH_CAP + 1 rows of an index ("10,000+" beyond). Position and limit of `q` are ignored."""
    # `author_ids` (one person's accounts) is being added to PostQuery by the timeline's navigation work.
    author_ids = ((q.author_id,) if q.author_id is not None else ()) + tuple(getattr(q, "author_ids", ()))
    stmt = select(posts.c.created_at)
    clause: Any = None
    if query and conn.dialect.name == "sqlite":
        plan = _sqlite_plan(conn, query) if _WORD.search(query) else None
        if plan is not None and plan[1] is not None:
            clause = posts.c.id.in_(plan[1])
        elif plan is not None:  # driven by FTS5's matches, stopping at the cap (no list of every match)
            fts = table("posts_fts", column("rowid"))
            stmt = stmt.select_from(fts.join(posts, posts.c.id == fts.c.rowid))
            clause = text("posts_fts MATCH :fts_query").bindparams(fts_query=plan[0])
    elif query:
        clause = search_clause(conn.dialect.name, query)
    if clause is None and not author_ids and q.statuses == (Status.APPROVED,):
        return counts.Matches(counts.approved_total(conn, event_id, q.platforms, q.kinds), False,
                              counts.hour_counts(conn, event_id, start, end, q.platforms, q.kinds))
    stmt = stmt.where(posts.c.event_id == event_id, posts.c.status.in_([s.value for s in q.statuses]))
    if q.kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in q.kinds]))
    if q.platforms:
        stmt = stmt.where(posts.c.platform.in_([p.value for p in q.platforms]))
    if author_ids:
        stmt = stmt.where(posts.c.author_id.in_(author_ids))
    if clause is not None:
        stmt = stmt.where(clause)
    if clause is not None and conn.dialect.name == "postgresql" and _estimate(conn, stmt) > 2 * counts.MATCH_CAP:
        # A common word: its GIN bitmap alone is every match. The planner's estimate (from the
        # expression index's word statistics) says "over the cap" without reading it.
        return counts.Matches(counts.MATCH_CAP, True, None)
    return counts.bounded_matches(conn, stmt, start, end)


def _estimate(conn: Connection, stmt: Any) -> float:
    """PostgreSQL's estimate of the rows `stmt` returns (EXPLAIN, not run)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True, slots=True)
class AuthorFacet:
    """An author with approved posts in the event (the timeline's author filter)."""

    id: int
    platform: Platform
    handle: str
    name: str
    posts: int


def author_facets(conn: Connection, event_id: int, limit: int = 200) -> list[AuthorFacet]:
    """The authors with the most approved posts, from the counts kept as posts change."""
    return [AuthorFacet(a.id, a.platform, a.handle, a.name, a.posts) for a in counts.top_authors(conn, event_id, limit)]


def approved_times(conn: Connection, event_id: int, start: datetime, end: datetime) -> list[datetime]:
    """created_at of every approved post in [start, end). Reads every row: not for a request path
    with a big event (the timeline's chart reads counts.hour_counts)."""
    rows = conn.execute(
        select(posts.c.created_at).where(
            posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value,
            posts.c.created_at >= start, posts.c.created_at < end,
        )
    )
    return [r.created_at for r in rows]


def same_person_links(conn: Connection, event_id: int, author_ids: Sequence[int],
                      limit: int = 2000) -> list[tuple[int, int]]:
    """Pairs of author ids, among `author_ids` (the author filter's entries), that dedup judged to be one
    person (a cross-post folded into the other's post). Read through the author index and bounded, so the
    timeline never walks every cross-post of a large event."""
    if not author_ids:
        return []
    original = posts.alias("original")
    rows = conn.execute(
        select(posts.c.author_id, original.c.author_id.label("other")).distinct()
        .select_from(posts.join(original, original.c.id == posts.c.canonical_id))
        .where(posts.c.author_id.in_(list(author_ids)), posts.c.event_id == event_id,
               posts.c.dup_kind == "crosspost", posts.c.author_id != original.c.author_id)
        .limit(limit)
    )
    return [(int(r.author_id), int(r.other)) for r in rows]


def flagged_posts(conn: Connection, event_id: int, *, featured: bool = False, pinned: bool = False,
                  limit: int = 20) -> list[StoredPost]:
    """Approved posts that are featured (and/or pinned), newest first."""
    stmt = _select_posts().where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value)
    # `= true` (not IS): the form the partial indexes ix_posts_featured / ix_posts_pinned are found by.
    if featured:
        stmt = stmt.where(posts.c.featured == true())
    if pinned:
        stmt = stmt.where(posts.c.pinned == true())
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
