"""Events, their programme and their sources: kept in step with the config file."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from aggregator.config import EventSettings, Settings, SourceSettings
from aggregator.storage.records import EventRecord, SessionRecord, SourceRecord
from aggregator.storage.schema import events, programme_sessions, sources

log = logging.getLogger("aggregator.storage")

# Params that only tune how a source is fetched; every other param says *what* it collects.
_TUNING_PARAMS = frozenset({"timeout", "max_bytes", "max_pages", "max_results", "limit"})


def source_address(ev: EventSettings, src: SourceSettings) -> str:
    """A fingerprint of what a source collects: kind, API/feed address and query.

    A cursor (a since_id, a min_id, an ETag) only means something for the address and
    query it came from; when this changes the source starts again from a fresh cursor.
    """
    what = {
        "kind": src.kind,
        "base_url": src.base_url,
        "params": {k: v for k, v in sorted(src.params.items()) if k not in _TUNING_PARAMS},
        "hashtags": sorted(ev.source_hashtags(src)),
        "match": src.match,
        "keywords": sorted(src.keywords),
        "accounts": sorted(src.accounts),
        "exclude_words": sorted(src.exclude_words),
        "exclude_accounts": sorted(src.exclude_accounts),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:32]


def sync(conn: Connection, settings: Settings, now: datetime) -> dict[str, int]:
    """Upsert every configured event, its programme and its sources; returns slug -> id.

    Sources are matched by name so their cursors and health survive config edits;
    sources removed from the file are disabled, not deleted (their posts stay).
    """
    ids: dict[str, int] = {}
    for ev in settings.events:
        ids[ev.slug] = _sync_event(conn, ev, now)
    return ids


def _sync_event(conn: Connection, ev: EventSettings, now: datetime) -> int:
    values: dict[str, Any] = {
        "title": ev.title,
        "timezone": ev.timezone,
        "starts_at": ev.utc(ev.start),
        "ends_at": ev.utc(ev.end),
        "venue": ev.venue,
        "url": ev.url,
        "hashtags": list(ev.hashtags),
        "updated_at": now,
    }
    row = conn.execute(select(events.c.id).where(events.c.slug == ev.slug)).first()
    if row is None:
        event_id = int(
            conn.execute(events.insert().values(slug=ev.slug, wall_options={}, **values).returning(events.c.id))
            .scalar_one()
        )
    else:
        event_id = int(row.id)
        conn.execute(update(events).where(events.c.id == event_id).values(**values))
    conn.execute(delete(programme_sessions).where(programme_sessions.c.event_id == event_id))
    if ev.programme:
        conn.execute(
            programme_sessions.insert(),
            [
                {
                    "event_id": event_id,
                    "position": i,
                    "title": s.title,
                    "starts_at": ev.utc(s.start),
                    "ends_at": ev.utc(s.end),
                    "room": s.room,
                    "kind": s.kind,
                    "speakers": list(s.speakers),
                }
                for i, s in enumerate(ev.programme)
            ],
        )
    configured = {ev.source_name(i): src for i, src in enumerate(ev.sources)}
    stored = {r.name: r for r in conn.execute(select(sources.c.id, sources.c.name, sources.c.address).where(
        sources.c.event_id == event_id))}
    for name, src in configured.items():
        address = source_address(ev, src)
        row = stored.get(name)
        if row is not None:
            changes: dict[str, Any] = {"kind": src.kind, "enabled": src.enabled, "address": address}
            # Matched by name, but collecting something else: the old cursor would skip or
            # misplace posts (a since_id from another instance). Start afresh.
            if row.address is not None and row.address != address:
                changes.update(cursor_position=None, etag=None, last_modified=None, recheck_position=None)
                log.warning("source.address_changed event=%s source=%s: cursor reset", ev.slug, name)
            conn.execute(update(sources).where(sources.c.id == row.id).values(**changes))
        else:
            conn.execute(sources.insert().values(event_id=event_id, name=name, kind=src.kind, enabled=src.enabled,
                                                 consecutive_failures=0, posts_collected=0, address=address))
    gone = [r.id for name, r in stored.items() if name not in configured]
    if gone:
        conn.execute(update(sources).where(sources.c.id.in_(gone)).values(enabled=False))
    return event_id


def _event(row: Any) -> EventRecord:
    return EventRecord(
        id=row.id, slug=row.slug, title=row.title, timezone=row.timezone, starts_at=row.starts_at,
        ends_at=row.ends_at, venue=row.venue, url=row.url, hashtags=tuple(row.hashtags),
        wall_options=dict(row.wall_options or {}),
    )


def get(conn: Connection, slug: str) -> EventRecord | None:
    row = conn.execute(select(events).where(events.c.slug == slug)).first()
    return _event(row) if row else None


def all_events(conn: Connection) -> list[EventRecord]:
    return [_event(r) for r in conn.execute(select(events).order_by(events.c.starts_at))]


def programme(conn: Connection, event_id: int) -> list[SessionRecord]:
    rows = conn.execute(
        select(programme_sessions).where(programme_sessions.c.event_id == event_id)
        .order_by(programme_sessions.c.starts_at, programme_sessions.c.position)
    )
    return [
        SessionRecord(r.id, r.position, r.title, r.starts_at, r.ends_at, r.room, r.kind, tuple(r.speakers))
        for r in rows
    ]


def source_record(row: Any) -> SourceRecord:
    return SourceRecord(
        id=row.id, event_id=row.event_id, name=row.name, kind=row.kind, enabled=bool(row.enabled),
        cursor_position=row.cursor_position, etag=row.etag, last_modified=row.last_modified,
        last_run_at=row.last_run_at, last_success_at=row.last_success_at, last_error_at=row.last_error_at,
        last_error=row.last_error, consecutive_failures=row.consecutive_failures, next_run_at=row.next_run_at,
        rate_limited_until=row.rate_limited_until, posts_collected=row.posts_collected,
        recheck_position=row.recheck_position,
    )


def list_sources(conn: Connection, event_id: int | None = None) -> list[SourceRecord]:
    stmt = select(sources).order_by(sources.c.event_id, sources.c.id)
    if event_id is not None:
        stmt = stmt.where(sources.c.event_id == event_id)
    return [source_record(r) for r in conn.execute(stmt)]


def get_source(conn: Connection, event_id: int, name: str) -> SourceRecord | None:
    row = conn.execute(select(sources).where(sources.c.event_id == event_id, sources.c.name == name)).first()
    return source_record(row) if row else None


def record_failure(
    conn: Connection,
    source_id: int,
    message: str,
    now: datetime,
    next_run_at: datetime | None,
    rate_limited_until: datetime | None = None,
) -> None:
    conn.execute(
        update(sources).where(sources.c.id == source_id).values(
            last_run_at=now,
            last_error_at=now,
            last_error=message[:2000],
            consecutive_failures=sources.c.consecutive_failures + 1,
            next_run_at=next_run_at,
            rate_limited_until=rate_limited_until,
        )
    )


def record_recheck_position(conn: Connection, source_id: int, position: int | None) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(recheck_position=position))


def record_schedule(conn: Connection, source_id: int, next_run_at: datetime | None) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(next_run_at=next_run_at))
