"""The one storage layer: every query in the program lives in this package.

`Storage` owns the engine and the transactions; the domain modules (events,
posts, live, ...) hold the SQL. Driver errors leave this package as
StorageError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from aggregator.clock import Clock, system_clock
from aggregator.config import Settings
from aggregator.storage import announcements as _announcements
from aggregator.storage import authors as _authors
from aggregator.storage import counts as _counts
from aggregator.storage import deletions as _deletions
from aggregator.storage import events as _events
from aggregator.storage import exports as _exports
from aggregator.storage import live as _live
from aggregator.storage import media as _media
from aggregator.storage import moderation as _moderation
from aggregator.storage import posts as _posts
from aggregator.storage import search as _search
from aggregator.storage import stories as _stories
from aggregator.storage import uploads as _uploads
from aggregator.storage import users as _users
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
from aggregator.types import CardMerge, Cursor, IngestItem, IngestReport, PostKey, PostKind, Status

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
        merges: Sequence[CardMerge] = (),
    ) -> IngestReport:
        """Posts, media, decisions, card merges, the source's cursor and live-event rows: one transaction."""
        with self.write() as conn:
            return _posts.ingest(conn, event_id, source_id, items, cursor, self.clock(), photo_hashes, created_by,
                                 merges)

    def ingest_context(self, event_id: int, keys: Sequence[PostKey], counts_since: datetime | None,
                       video_keys: Sequence[str] = ()) -> _posts.IngestContext:
        """What planning a batch reads from storage, in one read: see posts.IngestContext."""
        with self.read() as conn:
            return _posts.ingest_context(conn, event_id, keys, counts_since, video_keys)

    def posts(self, event_id: int, query: PostQuery | None = None) -> PostPage:
        with self.read() as conn:
            return _posts.list_posts(conn, event_id, query or PostQuery())

    def post(self, event_id: int, post_id: int) -> StoredPost | None:
        with self.read() as conn:
            return _posts.get_post(conn, event_id, post_id)

    def count_by_status(self, event_id: int) -> dict[Status, int]:
        with self.read() as conn:
            return _posts.count_by_status(conn, event_id)

    def dedup_candidates(self, event_id: int, since: datetime | None, video_keys: Sequence[str] = (),
                         until: datetime | None = None) -> list[_posts.DedupCandidate]:
        """Stored posts since `since` (None: none by time) and before `until`, and any sharing one of the videos."""
        with self.read() as conn:
            return _posts.dedup_candidates(conn, event_id, since, video_keys, until=until)

    def approved_counts_by_author(self, event_id: int, since: datetime) -> dict[tuple[str, str], int]:
        with self.read() as conn:
            return _posts.approved_counts_by_author(conn, event_id, since)

    def author_standings(self, event_id: int) -> dict[str, set[tuple[str, str, str]]]:
        with self.read() as conn:
            return _authors.standings(conn, event_id)

    def known_keys(self, event_id: int, keys: Sequence[PostKey]) -> set[PostKey]:
        with self.read() as conn:
            return _posts.known_keys(conn, event_id, keys)

    def recheck_page(self, event_id: int, source_id: int, after_id: int, limit: int) -> list[tuple[int, str]]:
        with self.read() as conn:
            return _deletions.recheck_page(conn, event_id, source_id, after_id, limit)

    def recheck_newest(self, event_id: int, source_id: int, since: datetime, limit: int) -> list[str]:
        with self.read() as conn:
            return _deletions.recheck_newest(conn, event_id, source_id, since, limit)

    def record_recheck_position(self, source_id: int, position: int | None) -> None:
        with self.write() as conn:
            _events.record_recheck_position(conn, source_id, position)

    def remove_at_source(self, event_id: int, keys: Sequence[PostKey], reason: str = "deleted_at_source",
                         decide: _deletions.Decide | None = None) -> int:
        """Deleted at the source: removed everywhere, tombstoned, retracted from walls, and a deleted
        card face handed on to its next copy (shown only if `decide` approves it); one transaction."""
        with self.write() as conn:
            return _deletions.remove_at_source(conn, event_id, keys, reason, self.clock(), decide)

    # ---- live log -------------------------------------------------------------------------------------

    def live_after(self, seq: int, event_id: int | None = None, limit: int = 500) -> list[LiveEvent]:
        with self.read() as conn:
            return _live.after(conn, seq, event_id, limit)

    def live_reader(self) -> LiveReader:
        """A kept connection for the live tailer (one thread): see LiveReader."""
        return LiveReader(self)

    def last_live_seq(self) -> int:
        with self.read() as conn:
            return _live.last_seq(conn)


    # ---- moderation, users, announcements (console) ----------------------------------------------------
    # Each write is one transaction: the change, its audit row, moderation_decisions rows and live events.

    def create_user(self, username: str, password_hash: str, role: str, display_name: str = "",
                    actor: _moderation.Actor | None = None) -> int:
        """A console user; `password_hash` from aggregator.web.auth.hash_password. Raises UserExists."""
        with self.write() as conn:
            user_id = _users.create(conn, username, display_name, password_hash, role, self.clock())
            if actor is not None:
                _moderation.record_audit(conn, None, actor, "create_user", "user", str(user_id), None,
                                         {"username": _users.normalise_username(username), "role": role},
                                         self.clock())
            return user_id

    def user(self, user_id: int) -> _users.UserRecord | None:
        with self.read() as conn:
            return _users.get(conn, user_id)

    def user_by_name(self, username: str) -> _users.UserRecord | None:
        with self.read() as conn:
            return _users.by_username(conn, username)

    def users(self) -> list[_users.UserRecord]:
        with self.read() as conn:
            return _users.all_users(conn)

    def update_user(self, user_id: int, *, actor: _moderation.Actor | None = None, password_hash: str | None = None,
                    role: str | None = None, disabled: bool | None = None, display_name: str | None = None) -> None:
        """Change a user's password, role, display name or disabled flag (audited when an actor is given)."""
        values: dict[str, object] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if role is not None:
            values["role"] = role
        if disabled is not None:
            values["disabled"] = disabled
        if display_name is not None:
            values["display_name"] = display_name
        with self.write() as conn:
            old = _users.get(conn, user_id)
            if old is None:
                raise _moderation.ActionError(f"no user {user_id}")
            _users.update_user(conn, user_id, values)
            if actor is not None:
                shown = {k: v for k, v in values.items() if k != "password_hash"}
                if password_hash is not None:
                    shown["password_changed"] = True
                before = {k: getattr(old, k) for k in shown if k != "password_changed"}
                _moderation.record_audit(conn, None, actor, "update_user", "user", str(user_id), before, shown,
                                         self.clock())

    def record_login(self, user_id: int) -> None:
        with self.write() as conn:
            _users.update_user(conn, user_id, {"last_login_at": self.clock()})

    def take_login_slot(self, keys: list[tuple[str, int]], since: datetime) -> bool:
        """Atomically take one sign-in attempt under each (key, limit) counted since `since`; False when full."""
        with self.write() as conn:
            return _users.take_login_slot(conn, keys, self.clock(), since)

    def release_login_slot(self, key: str) -> None:
        with self.write() as conn:
            _users.release_login_slot(conn, key)

    def clear_login_slots(self, key: str) -> None:
        with self.write() as conn:
            _users.clear_login_slots(conn, key)

    def start_session(self, session_id: str, user_id: int, expires_at: datetime) -> None:
        with self.write() as conn:
            _users.start_session(conn, session_id, user_id, self.clock(), expires_at)

    def session_user(self, session_id: str) -> int | None:
        with self.read() as conn:
            return _users.session_user(conn, session_id, self.clock())

    def end_session(self, session_id: str) -> None:
        with self.write() as conn:
            _users.end_session(conn, session_id)

    def record_login_failure(self, username: str, address: str) -> None:
        with self.write() as conn:
            _users.record_failure(conn, username, address, self.clock())

    def login_failure_counts(self, username: str, address: str, since: datetime) -> tuple[int, int]:
        """(failures for the username, failures from the address) since `since`."""
        with self.read() as conn:
            return _users.count_failures(conn, username, address, since)

    def clear_login_failures(self, username: str) -> None:
        with self.write() as conn:
            _users.clear_failures(conn, username)

    def moderate_posts(self, event_id: int, post_ids: Sequence[int], action: str,
                       actor: _moderation.Actor) -> _moderation.ActionResult:
        """approve / reject / takedown / pin / unpin / feature / unfeature, one post or many."""
        with self.write() as conn:
            return _moderation.act_on_posts(conn, event_id, post_ids, action, actor, self.clock())

    def moderate_author(self, event_id: int, author_id: int, action: str,
                        actor: _moderation.Actor) -> _moderation.ActionResult:
        """block (also rejects their pending and visible posts) / trust / clear."""
        with self.write() as conn:
            return _moderation.act_on_author(conn, event_id, author_id, action, actor, self.clock())

    def undo_last(self, event_id: int, actor: _moderation.Actor) -> _moderation.ActionResult | None:
        with self.write() as conn:
            return _moderation.undo_last(conn, event_id, actor, self.clock())

    def moderation_queue(self, event_id: int, query: _moderation.QueueQuery | None = None) -> list[StoredPost]:
        with self.read() as conn:
            return _moderation.queue(conn, event_id, query or _moderation.QueueQuery())

    def author_record(self, event_id: int, author_id: int) -> _moderation.AuthorRecord | None:
        with self.read() as conn:
            return _moderation.author_record(conn, event_id, author_id)

    def audit_entries(self, event_id: int | None, limit: int = 200, before_id: int | None = None,
                      target_types: tuple[str, ...] = ()) -> list[_moderation.AuditEntry]:
        """Newest first; `target_types` narrows to those targets (moderators read only moderation)."""
        with self.read() as conn:
            return _moderation.audit_entries(conn, event_id, limit, before_id, target_types)

    def published_story_slugs(self, event_id: int) -> list[tuple[str, str]]:
        """(slug, title) of published stories (the console's embed snippets)."""
        with self.read() as conn:
            return _moderation.published_story_slugs(conn, event_id)

    def tombstone_reason(self, event_id: int, key: PostKey) -> str | None:
        with self.read() as conn:
            return _moderation.is_tombstoned(conn, event_id, key.platform.value, key.external_id)

    def create_announcement(self, event_id: int, text: str, starts_at: datetime, ends_at: datetime | None,
                            actor: _moderation.Actor) -> _announcements.AnnouncementRecord:
        with self.write() as conn:
            return _announcements.create(conn, event_id, text, starts_at, ends_at, actor, self.clock())

    def withdraw_announcement(self, event_id: int, announcement_id: int, actor: _moderation.Actor) -> bool:
        with self.write() as conn:
            return _announcements.withdraw(conn, event_id, announcement_id, actor, self.clock())

    def announcements(self, event_id: int) -> list[_announcements.AnnouncementRecord]:
        with self.read() as conn:
            return _announcements.list_for(conn, event_id)

    def active_announcements(self, event_id: int, now: datetime) -> list[_announcements.AnnouncementRecord]:
        with self.read() as conn:
            return _announcements.active(conn, event_id, now)

    def set_wall_options(self, event_id: int, overrides: dict[str, object],
                         actor: _moderation.Actor, wall: str = "") -> dict[str, object]:
        """Validated against WallSettings (WallOptionsError names the bad option); live event `wall.options`.
        `wall` names one of the event's walls ("" for its own)."""
        with self.write() as conn:
            return _announcements.set_wall_options(conn, event_id, dict(overrides), actor, self.clock(), wall)


    # ---- public surfaces: stories, search, timeline ------------------------------------------------------

    def search_posts(self, event_id: int, query: PostQuery, text: str) -> PostPage:
        """A keyset page of approved posts matching full-text `text` (FTS5 / tsvector), with `query`'s filters."""
        with self.read() as conn:
            return _search.search_page(conn, event_id, query, text)

    def author_facets(self, event_id: int, limit: int = 200) -> list[_search.AuthorFacet]:
        with self.read() as conn:
            return _search.author_facets(conn, event_id, limit)

    def approved_times(self, event_id: int, start: datetime, end: datetime) -> list[datetime]:
        """Every approved post's time: reads every row (the timeline's chart reads hour_counts)."""
        with self.read() as conn:
            return _search.approved_times(conn, event_id, start, end)

    def same_person_links(self, event_id: int, author_ids: Sequence[int]) -> list[tuple[int, int]]:
        """Author id pairs, among `author_ids`, that dedup folded together as one person's cross-posts."""
        with self.read() as conn:
            return _search.same_person_links(conn, event_id, author_ids)

    def hour_counts(self, event_id: int, start: datetime, end: datetime) -> list[int]:
        """Approved posts per hour of [start, end), from the counts kept as posts change (the chart)."""
        with self.read() as conn:
            return _counts.hour_counts(conn, event_id, start, end)

    def filtered_matches(self, event_id: int, query: PostQuery, text: str, start: datetime,
                         end: datetime) -> _counts.Matches:
        """How many approved posts match filters and a search, and per hour of [start, end) (capped)."""
        with self.read() as conn:
            return _search.filtered_matches(conn, event_id, query, text, start, end)

    def flagged_posts(self, event_id: int, *, featured: bool = False, pinned: bool = False,
                      limit: int = 20) -> list[StoredPost]:
        """Approved posts that are featured and/or pinned, newest first (the wall's spotlight and pins)."""
        with self.read() as conn:
            return _search.flagged_posts(conn, event_id, featured=featured, pinned=pinned, limit=limit)

    def posts_by_ids(self, event_id: int, ids: Sequence[int]) -> dict[int, StoredPost]:
        with self.read() as conn:
            return _search.posts_by_ids(conn, event_id, ids)

    def upload_is_public(self, slug: str, url: str) -> bool:
        """Whether /media/ file `url` belongs to an approved post or a published story of event `slug`."""
        with self.read() as conn:
            return _uploads.is_public(conn, slug, url)

    def post_by_key(self, event_id: int, key: PostKey) -> StoredPost | None:
        with self.read() as conn:
            return _search.post_by_key(conn, event_id, key.platform, key.external_id)

    def stories(self, event_id: int, include_drafts: bool = False) -> list[_stories.StoryRecord]:
        with self.read() as conn:
            return _stories.list_stories(conn, event_id, include_drafts)

    def story(self, event_id: int, slug: str) -> _stories.StoryRecord | None:
        with self.read() as conn:
            return _stories.get_story(conn, event_id, slug)

    def story_by_id(self, event_id: int, story_id: int) -> _stories.StoryRecord | None:
        with self.read() as conn:
            return _stories.get_story_by_id(conn, event_id, story_id)

    def create_story(self, event_id: int, title: str, author_id: int | None, summary: str = "",
                     seed: bool = False) -> _stories.StoryRecord:
        """A draft story; `seed` adds the seed-page template's sections. One transaction."""
        with self.write() as conn:
            story_id = _stories.create_story(conn, event_id, title, author_id, self.clock(), summary)
            if seed:
                _stories.seed_sections(conn, story_id, self.clock())
            found = _stories.get_story_by_id(conn, event_id, story_id)
            assert found is not None
            return found

    def update_story(self, story_id: int, *, title: str | None = None, summary: str | None = None,
                     status: str | None = None, by: int | None = None) -> None:
        """Change a story's title, summary or status; `by` (a user id) is recorded as its last editor."""
        with self.write() as conn:
            _stories.update_story(conn, story_id, self.clock(), title=title, summary=summary, status=status)
            self._edited(conn, story_id, by)

    @staticmethod
    def _edited(conn: Connection, story_id: int, by: int | None) -> None:
        if by is not None:
            _stories.mark_edited(conn, story_id, by)

    def delete_story(self, story_id: int) -> None:
        with self.write() as conn:
            _stories.delete_story(conn, story_id)

    def add_story_block(self, story_id: int, kind: str, *, heading: str = "", body: str = "",
                        post_id: int | None = None, media_url: str | None = None,
                        section_id: int | None = None, by: int | None = None) -> int:
        """Append a block to the story, or to the end of section `section_id`."""
        with self.write() as conn:
            block_id = _stories.add_block(conn, story_id, kind, self.clock(), heading=heading, body=body,
                                          post_id=post_id, media_url=media_url, section_id=section_id)
            self._edited(conn, story_id, by)
            return block_id

    def update_story_block(self, story_id: int, block_id: int, *, heading: str | None = None,
                           body: str | None = None, by: int | None = None) -> None:
        with self.write() as conn:
            _stories.update_block(conn, story_id, block_id, self.clock(), heading=heading, body=body)
            self._edited(conn, story_id, by)

    def move_story_block(self, story_id: int, block_id: int, delta: int, by: int | None = None) -> None:
        with self.write() as conn:
            _stories.move_block(conn, story_id, block_id, delta, self.clock())
            self._edited(conn, story_id, by)

    def delete_story_block(self, story_id: int, block_id: int, by: int | None = None) -> None:
        with self.write() as conn:
            _stories.delete_block(conn, story_id, block_id, self.clock())
            self._edited(conn, story_id, by)

    def seed_story(self, story_id: int, by: int | None = None) -> list[int]:
        with self.write() as conn:
            ids = _stories.seed_sections(conn, story_id, self.clock())
            self._edited(conn, story_id, by)
            return ids


    # ---- the media store's index (aggregator/media) -------------------------------------------------------

    def media_wanted(self, event_id: int, limit: int) -> list[str]:
        with self.read() as conn:
            return _media.wanted(conn, event_id, limit)

    def media_event_bytes(self, event_id: int) -> int:
        with self.read() as conn:
            return _media.event_bytes(conn, event_id)

    def record_media_kept(self, url: str, sha256: str, size: int, content_type: str) -> None:
        with self.write() as conn:
            _media.record_kept(conn, url, sha256, size, content_type, self.clock())

    def record_media_failed(self, url: str, error: str) -> None:
        with self.write() as conn:
            _media.record_failed(conn, url, error, self.clock())

    def prune_media(self) -> list[str]:
        """Forget URLs no approved post shows; returns the files (sha256) nothing uses any more."""
        with self.write() as conn:
            return _media.prune(conn)

    def media_status(self, event_id: int) -> _media.MediaStatus:
        with self.read() as conn:
            return _media.status(conn, event_id)

    def kept_media(self, urls: Sequence[str] | None = None) -> dict[str, _media.KeptFile]:
        with self.read() as conn:
            return _media.kept_map(conn, urls)

    def event_kept_media(self, event_id: int) -> dict[str, _media.KeptFile]:
        with self.read() as conn:
            return _media.event_kept_map(conn, event_id)


    # ---- exports, feeds and the report (approved cards only) -------------------------------------------

    def approved_stream(self, event_id: int, kinds: Sequence[PostKind] = (), batch: int = 500,
                        ) -> Iterator[list[StoredPost]]:
        """Every approved card, oldest first, in batches; each batch is its own short read."""
        after: PageCursor | None = None
        while True:
            with self.read() as conn:
                found = _exports.approved_batch(conn, event_id, after, batch, kinds)
            if not found:
                return
            yield found
            if len(found) < batch:
                return
            after = PageCursor(found[-1].created_at, found[-1].id)

    def approved_count(self, event_id: int, kinds: Sequence[PostKind] = ()) -> int:
        with self.read() as conn:
            return _exports.approved_count(conn, event_id, kinds)

    def removals(self, event_id: int, since: datetime | None = None, limit: int = 100_000) -> list[_exports.Removal]:
        with self.read() as conn:
            return _exports.removals(conn, event_id, since, limit)

    def moderation_counts(self, event_id: int) -> list[tuple[str, str, int]]:
        with self.read() as conn:
            return _exports.moderation_counts(conn, event_id)

    def crosspost_authors(self, event_id: int) -> list[tuple[int, int]]:
        with self.read() as conn:
            return _exports.crosspost_authors(conn, event_id)


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:300]


class LiveReader:
    """The live tailer's reads on one kept autocommit connection: no pool checkout, ping, BEGIN or
    ROLLBACK per batch (each a round trip, and round trips are what a busy server waits on).
    Used from one thread only; reconnects after an error."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._conn: Connection | None = None

    def batch(self, seq: int, limit: int, watched: Callable[[int], bool],
              ) -> tuple[list[LiveEvent], dict[int, StoredPost]]:
        """The live rows after seq and the posts they name in watched events."""
        if self.storage.dialect == "sqlite":  # no round trips to save (a kept connection keeps its snapshot)
            with self.storage.read() as conn:
                return self._batch(conn, seq, limit, watched)
        try:
            if self._conn is None:
                self._conn = self.storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self._batch(self._conn, seq, limit, watched)
        except SQLAlchemyError as exc:
            self.close()
            raise StorageError(f"database read failed: {_short(exc)}") from exc

    @staticmethod
    def _batch(conn: Connection, seq: int, limit: int, watched: Callable[[int], bool],
               ) -> tuple[list[LiveEvent], dict[int, StoredPost]]:
        rows = _live.after(conn, seq, None, limit)
        wanted: dict[int, list[int]] = {}
        for row in rows:
            if row.post_id is not None and watched(row.event_id):
                wanted.setdefault(row.event_id, []).append(row.post_id)
        posts: dict[int, StoredPost] = {}
        for event_id, ids in wanted.items():
            posts.update(_search.posts_by_ids(conn, event_id, ids))
        return rows, posts

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()
