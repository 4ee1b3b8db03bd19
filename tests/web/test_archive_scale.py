"""The timeline and the wall never read every post of the event per request (issue 12: a million posts).

Structural, not timed: every statement a page issues is captured (SQLAlchemy's before_cursor_execute)
and checked: no aggregate over posts (the chart and the author filter read the kept counts), and the
database's own plan reaches posts, media and authors through an index, never by scanning them
(SQLite: EXPLAIN QUERY PLAN has no "SCAN posts"; PostgreSQL: with sequential scans priced out, a plan
that still scans a table has no index to use).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from aggregator.storage import PageCursor
from aggregator.storage.moderation import Actor
from aggregator.types import Platform
from tests.factories import EVENT_START, approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, public_env

TABLES = ("posts", "media", "authors")
AGGREGATE = re.compile(r"\b(GROUP BY|count\(|sum\()", re.IGNORECASE)
# A read of posts is bounded by a LIMIT or by a list of ids it was given (a page's posts, their media).
BOUNDED = re.compile(r"\bLIMIT\b|\b(posts\.id|posts\.canonical_id|media\.post_id) IN \(", re.IGNORECASE)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        posts = [approved(make_post(i, Platform.X if i % 3 else Platform.MASTODON, author=f"a{i % 5}",
                                    text=f"keynote number {i} {'zanzibar' if i == 7 else ''}", photos=i % 2,
                                    minutes=i * 3)) for i in range(60)]
        e.storage.ingest(e.event_id, None, posts, None)
        first = e.storage.post_by_key(e.event_id, posts[5].post.key)
        assert first is not None
        e.storage.moderate_posts(e.event_id, [first.id], "pin", Actor(None, "mo"))
        e.storage.moderate_posts(e.event_id, [first.id + 1], "feature", Actor(None, "mo"))
        yield e


def _reads_of_posts(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT") and any(
        re.search(rf"\bFROM {t}\b|\bJOIN {t}\b", statement) for t in TABLES)


def _plan(conn: Any, dialect: str, statement: str, parameters: Any) -> str:
    if dialect == "sqlite":
        return "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    conn.exec_driver_sql("SET enable_seqscan = off")  # a small table is otherwise always read whole
    try:
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    finally:
        conn.exec_driver_sql("RESET enable_seqscan")


def _scans(conn: Any, dialect: str, statement: str, parameters: Any) -> list[str]:
    """The lines of the plan of `statement` that read a table of TABLES whole."""
    whole = rf"^SCAN ({'|'.join(TABLES)})\b(?!_)" if dialect == "sqlite" else rf"Seq Scan on ({'|'.join(TABLES)})\b"
    return [line for line in _plan(conn, dialect, statement, parameters).splitlines() if re.search(whole, line.strip())]


PAGES = [
    "/e/{slug}/timeline",
    "/e/{slug}/timeline?before={deep}",
    "/e/{slug}/timeline?platform=mastodon",
    "/e/{slug}/timeline?author={author}",
    "/e/{slug}/timeline?kind=photos",
    "/e/{slug}/timeline?q=keynote",
    "/e/{slug}/timeline?q=zanzibar",
    "/e/{slug}/wall",
]


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reads_posts_through_indexes_and_aggregates_nothing(env: ConsoleEnv, page: str) -> None:
    author = env.storage.author_facets(env.event_id)[0].id
    deep = PageCursor(EVENT_START + timedelta(minutes=90), 10**9).encode()
    path = page.format(slug=SLUG, deep=deep, author=author)
    client = env.client()
    assert client.get(path).status_code == 200  # warm (templates, the event's config)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if _reads_of_posts(statement):
            seen.append((statement, parameters))

    event.listen(env.storage.engine, "before_cursor_execute", capture)
    try:
        response = client.get(path)
    finally:
        event.remove(env.storage.engine, "before_cursor_execute", capture)
    assert response.status_code == 200
    assert seen, "the page read no posts at all?"
    # No aggregate over the event; a count of a filter's matches is capped by a LIMIT inside it.
    assert [s for s, _ in seen if AGGREGATE.search(s) and not re.search(r"\bLIMIT\b", s)] == []
    assert [s for s, _ in seen if not BOUNDED.search(s)] == []
    with env.storage.engine.connect() as conn:
        dialect = env.storage.dialect
        scanned = {s: found for s, p in seen if (found := _scans(conn, dialect, s, p))}
    assert scanned == {}
    flagged = [(s, p) for s, p in seen if re.search(r"posts\.(pinned|featured) = ", s)]
    assert len(flagged) == (2 if "/wall" in path else 0)
    with env.storage.engine.connect() as conn:  # the wall's pins and spotlight come from partial indexes
        for s, p in flagged:
            plan = _plan(conn, env.storage.dialect, s, p)
            assert "ix_posts_pinned" in plan or "ix_posts_featured" in plan, plan
