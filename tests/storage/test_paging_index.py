"""The timeline's keyset page reads the index, not the table, on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from aggregator.storage import PageCursor, PostQuery
from aggregator.storage.posts import page_statement
from aggregator.types import Platform, PostKind
from tests.factories import EVENT_START, approved, make_post, migrated_storage, pending

INDEX = "ix_posts_event_status_created"


def plan(conn: Connection, stmt: Any) -> str:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if conn.dialect.name == "sqlite":
        values = tuple(str(v) if hasattr(v, "isoformat") else v for v in (params[k] for k in compiled.positiontup))
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)
        return "\n".join(str(r[-1]) for r in rows)
    conn.exec_driver_sql("SET enable_seqscan = off")
    rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", params)
    return "\n".join(str(r[0]) for r in rows)


CURSOR = PageCursor(EVENT_START + timedelta(minutes=100), 100)
PAGES = [PostQuery(limit=40), PostQuery(before=CURSOR, limit=40), PostQuery(after=CURSOR, limit=40)]
# With filters the planner may prefer another index (e.g. platform's, when it is rarer): any index, no scan.
FILTERED = PostQuery(before=CURSOR, kinds=(PostKind.PHOTO,), platforms=(Platform.X,), limit=40)


def test_timeline_paging_uses_the_event_status_created_index(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        items = [approved(make_post(i)) for i in range(300)] + [pending(make_post(i)) for i in range(300, 400)]
        storage.ingest(ev.id, None, items, None)
        with storage.read() as conn:
            conn.exec_driver_sql("ANALYZE")
            for q in [*PAGES, FILTERED]:
                shown = plan(conn, page_statement(ev.id, q))
                if q is not FILTERED:
                    assert INDEX in shown, f"{q}: {shown}"
                if storage.dialect == "sqlite":
                    assert "SCAN posts" not in shown, shown
                    if q is not FILTERED:
                        assert "TEMP B-TREE" not in shown, f"sorted outside the index: {shown}"
                else:
                    assert "Index Scan" in shown or "Index Only Scan" in shown, shown
                    assert "Seq Scan on posts" not in shown, shown
