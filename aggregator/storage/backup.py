"""Backup and restore of one event, table by table: rows out as JSON-able dicts, rows back in with new ids.

The backup keeps every column of the event's rows (every moderation state,
decision history, audit log, drafts, tombstones, standings, announcements,
sources' cursors) and the users' names and roles, never their password hashes.
Restoring copies the rows rather than re-running ingest: ingest would decide
again, and a backup must bring back exactly the decisions people made.
Ids are renumbered; references follow (posts' canonical ids, blocks' posts,
users by username, authors by platform and id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from aggregator.storage.posts import _chunks, insert_for
from aggregator.storage.schema import (
    UTCDateTime,
    announcements,
    audit_log,
    author_rules,
    authors,
    events,
    media,
    media_files,
    moderation_decisions,
    posts,
    programme_sessions,
    sources,
    stories,
    story_blocks,
    tombstones,
    users,
)

BATCH = 1000
# The tables of one event, in the order they are restored (each after the ones it refers to).
TABLES: tuple[Table, ...] = (users, events, programme_sessions, sources, authors, author_rules, posts, media,
                             moderation_decisions, tombstones, audit_log, stories, story_blocks, announcements,
                             media_files)


class RestoreError(Exception):
    """The backup cannot go into this database (the event is there already, a row is inconsistent)."""


def to_json(table: Table, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in table.columns:
        value = row._mapping[col.name]
        out[col.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def from_json(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name not in data:
            continue
        value = data[col.name]
        if isinstance(col.type, UTCDateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        out[col.name] = value
    return out


def dump(conn: Connection, event_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table name, row) for everything the event owns, in restore order; streamed in batches."""
    post_ids = select(posts.c.id).where(posts.c.event_id == event_id)
    story_ids = select(stories.c.id).where(stories.c.event_id == event_id)
    author_ids = select(posts.c.author_id).where(posts.c.event_id == event_id).union(
        select(author_rules.c.author_id).where(author_rules.c.event_id == event_id))
    queries: list[tuple[Table, Any]] = [
        (users, select(users).order_by(users.c.id)),
        (events, select(events).where(events.c.id == event_id)),
        (programme_sessions, select(programme_sessions).where(programme_sessions.c.event_id == event_id)
         .order_by(programme_sessions.c.position)),
        (sources, select(sources).where(sources.c.event_id == event_id).order_by(sources.c.id)),
        (authors, select(authors).where(authors.c.id.in_(author_ids)).order_by(authors.c.id)),
        (author_rules, select(author_rules).where(author_rules.c.event_id == event_id)),
        (posts, select(posts).where(posts.c.event_id == event_id).order_by(posts.c.id)),
        (media, select(media).where(media.c.post_id.in_(post_ids)).order_by(media.c.id)),
        (moderation_decisions, select(moderation_decisions).where(moderation_decisions.c.post_id.in_(post_ids))
         .order_by(moderation_decisions.c.id)),
        (tombstones, select(tombstones).where(tombstones.c.event_id == event_id)),
        (audit_log, select(audit_log).where(audit_log.c.event_id == event_id).order_by(audit_log.c.id)),
        (stories, select(stories).where(stories.c.event_id == event_id).order_by(stories.c.id)),
        (story_blocks, select(story_blocks).where(story_blocks.c.story_id.in_(story_ids))
         .order_by(story_blocks.c.id)),
        (announcements, select(announcements).where(announcements.c.event_id == event_id)
         .order_by(announcements.c.id)),
        (media_files, select(media_files).where(media_files.c.state == "kept").order_by(media_files.c.id)),
    ]
    for table, stmt in queries:
        for row in conn.execution_options(yield_per=BATCH).execute(stmt):
            data = to_json(table, row)
            if table is users:
                data.pop("password_hash", None)
            yield table.name, data


class Restorer:
    """Rows of one backup into this database, in TABLES order; call `add` per row, then `finish`."""

    def __init__(self, conn: Connection, password_hash: Callable[[], str]) -> None:
        self.conn = conn
        self.password_hash = password_hash
        self.ids: dict[str, dict[int, int]] = {t.name: {} for t in TABLES}
        self.event_id: int | None = None
        self.counts: dict[str, int] = {t.name: 0 for t in TABLES}
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def _map(self, table: str, old: Any) -> int | None:
        return None if old is None else self.ids[table].get(int(old))

    def add(self, table_name: str, data: dict[str, Any]) -> None:
        table = next(t for t in TABLES if t.name == table_name)
        row = from_json(table, data)
        old_id = row.pop("id", None)
        conn = self.conn
        if table is users:
            found = conn.execute(select(users.c.id).where(users.c.username == row["username"])).scalar()
            if found is None:
                row["password_hash"] = self.password_hash()  # nobody can sign in until an organiser sets one
                found = conn.execute(users.insert().values(**row).returning(users.c.id)).scalar_one()
            self.ids["users"][int(old_id)] = int(found)
        elif table is events:
            exists = conn.execute(select(events.c.id).where(events.c.slug == row["slug"])).scalar()
            if exists is not None and conn.execute(select(posts.c.id).where(posts.c.event_id == exists).limit(1)
                                                   ).first() is not None:
                raise RestoreError(f"event {row['slug']!r} already has posts in this database: import into an "
                                   "empty database (or remove the event first)")
            if exists is None:
                exists = conn.execute(events.insert().values(**row).returning(events.c.id)).scalar_one()
            else:
                conn.execute(events.update().where(events.c.id == exists).values(**row))
                conn.execute(programme_sessions.delete().where(programme_sessions.c.event_id == exists))
            self.event_id = int(exists)
            self.ids["events"][int(old_id)] = int(exists)
        elif table is authors:
            stmt = insert_for(conn)(authors).values(**row)
            stmt = stmt.on_conflict_do_update(index_elements=["platform", "external_id"],
                                              set_={k: stmt.excluded[k] for k in row
                                                    if k not in ("platform", "external_id")})
            self.ids["authors"][int(old_id)] = int(conn.execute(stmt.returning(authors.c.id)).scalar_one())
        elif table is sources:
            row["event_id"] = self.event_id
            found = conn.execute(select(sources.c.id).where(sources.c.event_id == self.event_id,
                                                            sources.c.name == row["name"])).scalar()
            if found is None:
                found = conn.execute(sources.insert().values(**row).returning(sources.c.id)).scalar_one()
            else:
                conn.execute(sources.update().where(sources.c.id == found).values(**row))
            self.ids["sources"][int(old_id)] = int(found)
        elif table is media_files:
            stmt = insert_for(conn)(media_files).values(**row).on_conflict_do_nothing(index_elements=["url"])
            conn.execute(stmt)
        else:
            self._insert(table, old_id, self._remap(table, row))
        self.counts[table.name] += 1

    def _remap(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        if "event_id" in row and table is not events:
            row["event_id"] = self.event_id
        refs = {"post_id": "posts", "author_id": "authors", "user_id": "users", "set_by": "users",
                "created_by": "users", "canonical_id": "posts", "source_id": "sources", "story_id": "stories"}
        if table is stories:
            refs["author_id"] = "users"
        if table is audit_log and row.get("target_type") == "post" and str(row.get("target_id", "")).isdigit():
            row["target_id"] = str(self._map("posts", row["target_id"]) or row["target_id"])
        for col, target in refs.items():
            if col in row and row[col] is not None:
                mapped = self._map(target, row[col])
                if mapped is None and col in ("post_id", "story_id", "author_id") and table is not stories:
                    raise RestoreError(f"{table.name}: {col} {row[col]} is not in the backup")
                row[col] = mapped
        return row

    def _insert(self, table: Table, old_id: Any, row: dict[str, Any]) -> None:
        if old_id is None:  # no surrogate key: batch it
            self.pending.setdefault(table.name, []).append(row)
            if len(self.pending[table.name]) >= BATCH:
                self._flush(table.name)
            return
        new = self.conn.execute(table.insert().values(**row).returning(table.c[next(iter(table.primary_key)).name])
                                ).scalar_one()
        self.ids[table.name][int(old_id)] = int(new)

    def _flush(self, name: str) -> None:
        rows = self.pending.pop(name, [])
        table = next(t for t in TABLES if t.name == name)
        for part in _chunks(rows, 200):
            self.conn.execute(table.insert(), list(part))

    def finish(self) -> None:
        for name in list(self.pending):
            self._flush(name)
