"""The one storage layer: every query in the program lives in this package.

`Storage` owns the engine and the transactions; the domain modules (events,
posts, live, ...) hold the SQL. Driver errors leave this package as
StorageError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from aggregator.clock import Clock, system_clock
from aggregator.config import Settings
from aggregator.storage import authors as _authors
from aggregator.storage import events as _events
from aggregator.storage import live as _live
from aggregator.storage import posts as _posts
from aggregator.storage.engine import StorageError, make_engine
from aggregator.storage.posts import PostQuery
from aggregator.storage.records import (
    EventRecord,
    LiveEvent,
    PageCursor,
    PostPage,
    SessionRecord,
    SourceRecord,
    StoredPost,
)
from aggregator.types import Cursor, IngestItem, IngestReport, PostKey, Status

__all__ = [
    "EventRecord",
    "LiveEvent",
    "PageCursor",
    "PostPage",
    "PostQuery",
    "SessionRecord",
    "SourceRecord",
    "Storage",
    "StorageError",
    "StoredPost",
]


class Storage:
    def __init__(self, url: str, clock: Clock = system_clock, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.clock = clock
        # Tests set this to fail a write transaction just before it commits.
        self.before_commit: Callable[[Connection], None] | None = None
        # Called after a commit that appended live events (the in-process wake-up of the live hub).
        self.live_listeners: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # ---- transactions -----------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database read failed: {_short(exc)}") from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); commits on success."""
        try:
            with self.engine.connect().execution_options(sqlite_immediate=True) as conn:
                conn.info.pop("live_written", None)
                conn.info.pop("live_lock", None)
                with conn.begin():
                    yield conn
                    if self.before_commit is not None:
                        self.before_commit(conn)
                wrote_live = conn.info.pop("live_written", False)
                conn.info.pop("live_lock", None)
        except SQLAlchemyError as exc:
            raise StorageError(f"database write failed: {_short(exc)}") from exc
        if wrote_live:
            for listener in list(self.live_listeners):
                listener()

    # ---- events and sources -------------------------------------------------------------------------

    def sync_config(self, settings: Settings) -> dict[str, int]:
        with self.write() as conn:
            return _events.sync(conn, settings, self.clock())

    def event(self, slug: str) -> EventRecord | None:
        with self.read() as conn:
            return _events.get(conn, slug)

    def events(self) -> list[EventRecord]:
        with self.read() as conn:
            return _events.all_events(conn)

    def programme(self, event_id: int) -> list[SessionRecord]:
        with self.read() as conn:
            return _events.programme(conn, event_id)

    def sources(self, event_id: int | None = None) -> list[SourceRecord]:
        with self.read() as conn:
            return _events.list_sources(conn, event_id)

    def source(self, event_id: int, name: str) -> SourceRecord | None:
        with self.read() as conn:
            return _events.get_source(conn, event_id, name)

    def record_source_failure(
        self, source_id: int, message: str, next_run_at: datetime | None, rate_limited_until: datetime | None = None
    ) -> None:
        with self.write() as conn:
            _events.record_failure(conn, source_id, message, self.clock(), next_run_at, rate_limited_until)

    def record_source_schedule(self, source_id: int, next_run_at: datetime | None) -> None:
        with self.write() as conn:
            _events.record_schedule(conn, source_id, next_run_at)

    # ---- posts ----------------------------------------------------------------------------------------

    def ingest(
        self,
        event_id: int,
        source_id: int | None,
        items: Sequence[IngestItem],
        cursor: Cursor | None,
        photo_hashes: dict[str, str] | None = None,
        created_by: int | None = None,
    ) -> IngestReport:
        """Posts, media, decisions, the source's cursor and live-event rows: one transaction."""
        with self.write() as conn:
            return _posts.ingest(conn, event_id, source_id, items, cursor, self.clock(), photo_hashes, created_by)

    def posts(self, event_id: int, query: PostQuery | None = None) -> PostPage:
        with self.read() as conn:
            return _posts.list_posts(conn, event_id, query or PostQuery())

    def post(self, event_id: int, post_id: int) -> StoredPost | None:
        with self.read() as conn:
            return _posts.get_post(conn, event_id, post_id)

    def count_by_status(self, event_id: int) -> dict[Status, int]:
        with self.read() as conn:
            return _posts.count_by_status(conn, event_id)

    def dedup_candidates(self, event_id: int, since: datetime, video_keys: Sequence[str] = ()
                         ) -> list[_posts.DedupCandidate]:
        with self.read() as conn:
            return _posts.dedup_candidates(conn, event_id, since, video_keys)

    def approved_counts_by_author(self, event_id: int, since: datetime) -> dict[tuple[str, str], int]:
        with self.read() as conn:
            return _posts.approved_counts_by_author(conn, event_id, since)

    def author_standings(self, event_id: int) -> dict[str, set[tuple[str, str, str]]]:
        with self.read() as conn:
            return _authors.standings(conn, event_id)

    def remove_at_source(self, event_id: int, keys: Sequence[PostKey], reason: str = "deleted_at_source") -> int:
        """Deleted at the source: removed everywhere, tombstoned, retracted from walls; one transaction."""
        with self.write() as conn:
            return _posts.remove_at_source(conn, event_id, keys, reason, self.clock())

    # ---- live log -------------------------------------------------------------------------------------

    def live_after(self, seq: int, event_id: int | None = None, limit: int = 500) -> list[LiveEvent]:
        with self.read() as conn:
            return _live.after(conn, seq, event_id, limit)

    def last_live_seq(self) -> int:
        with self.read() as conn:
            return _live.last_seq(conn)


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:300]
