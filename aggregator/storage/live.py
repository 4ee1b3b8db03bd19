"""The live-event log (transactional outbox): appended in the writer's transaction, tailed by web processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from aggregator.storage.records import LiveEvent
from aggregator.storage.schema import live_events

# Any fixed 64-bit number: the PostgreSQL advisory lock that orders live-event writers.
_LIVE_LOCK_KEY = 0x4C495645  # "LIVE"
NOTIFY_CHANNEL = "aggregator_live"


def append(
    conn: Connection,
    event_id: int,
    kind: str,
    post_id: int | None,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append one row inside the caller's transaction; returns 1 (for counting).

    On PostgreSQL a sequence hands out numbers at insert time, not commit time,
    so a tailer reading "seq > last" could skip a row whose transaction commits
    after a later one. Writers of this table therefore take one transaction-level
    advisory lock first: seq order is then commit order. (SQLite serialises
    writers already.)
    """
    if conn.dialect.name == "postgresql" and not conn.info.get("live_lock"):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LIVE_LOCK_KEY})
        # Delivered at commit to every process LISTENing: their tailers wake at once.
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        conn.info["live_lock"] = True
    conn.info["live_written"] = True
    conn.execute(
        live_events.insert().values(
            event_id=event_id, kind=kind, post_id=post_id, payload=payload or {}, created_at=now
        )
    )
    return 1


def append_many(conn: Connection, event_id: int, rows: list[tuple[str, int | None]], now: datetime) -> int:
    """Several rows in one statement (same ordering guarantees as append); returns how many."""
    if not rows:
        return 0
    append(conn, event_id, rows[0][0], rows[0][1], now)  # takes the lock and notifies once
    if len(rows) > 1:
        conn.execute(live_events.insert(), [
            {"event_id": event_id, "kind": kind, "post_id": post_id, "payload": {}, "created_at": now}
            for kind, post_id in rows[1:]
        ])
    return len(rows)


def after(conn: Connection, seq: int, event_id: int | None = None, limit: int = 500) -> list[LiveEvent]:
    stmt = select(live_events).where(live_events.c.seq > seq)
    if event_id is not None:
        stmt = stmt.where(live_events.c.event_id == event_id)
    rows = conn.execute(stmt.order_by(live_events.c.seq).limit(limit))
    return [
        LiveEvent(r.seq, r.event_id, r.kind, r.post_id, dict(r.payload or {}), r.created_at) for r in rows
    ]


def last_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(live_events.c.seq), 0))).scalar_one())
