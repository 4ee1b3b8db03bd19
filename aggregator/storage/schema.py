"""The database schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL.

Alembic migrations (storage/migrations) must agree with this file; a test runs
autogenerate against a migrated database and expects no difference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


POST_STATUSES = ("pending", "approved", "rejected", "removed", "duplicate")
ROLES = ("organiser", "moderator", "reporter")

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("venue", Text, nullable=False, default=""),
    Column("url", Text, nullable=False, default=""),
    Column("hashtags", JSON, nullable=False),
    Column("wall_options", JSON, nullable=False),  # organiser's overrides of [events.wall]
    Column("updated_at", UTCDateTime, nullable=False),
)

programme_sessions = Table(
    "programme_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("room", Text, nullable=False, default=""),
    Column("kind", String(16), nullable=False),
    Column("speakers", JSON, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("cursor_position", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_run_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error_at", UTCDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_run_at", UTCDateTime),
    Column("rate_limited_until", UTCDateTime),
    Column("posts_collected", Integer, nullable=False, default=0),
    # Fingerprint of what the source collects (kind, address, query): a change resets the cursor.
    Column("address", Text),
    # The deletion re-check's place in its sweep of the source's posts (last post id checked).
    Column("recheck_position", BigInteger),
    UniqueConstraint("event_id", "name"),
)

authors = Table(
    "authors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("handle", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("avatar_url", Text),
    Column("profile_url", Text),
    Column("bot", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),  # time of the post the profile came from (newest wins)
    UniqueConstraint("platform", "external_id"),
)

# Per-event standing of an author, set by moderators: trusted, blocked, or one of the event's reporters.
author_rules = Table(
    "author_rules",
    metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True),
    Column("standing", String(16), nullable=False),
    Column("set_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("set_at", UTCDateTime, nullable=False),
    _status_check("standing", ("trusted", "blocked", "reporter"), "standing"),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("author_id", ForeignKey("authors.id"), nullable=False, index=True),
    Column("source_id", ForeignKey("sources.id", ondelete="SET NULL")),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),  # reporters' own posts
    Column("created_at", UTCDateTime, nullable=False),
    Column("collected_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
    Column("kind", String(8), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("language", String(16)),
    Column("sensitive", Boolean, nullable=False, default=False),
    Column("spoiler_text", Text, nullable=False, default=""),
    Column("hashtags", JSON, nullable=False),
    Column("links", JSON, nullable=False),
    Column("reply_to", Text),
    Column("quote_of", Text),
    Column("status", String(16), nullable=False),
    Column("status_rule", Text, nullable=False),
    Column("status_detail", Text, nullable=False, default=""),
    Column("canonical_id", ForeignKey("posts.id", ondelete="SET NULL"), index=True),
    Column("dup_kind", String(16)),  # exact / repost / crosspost / same_media
    Column("repost_count", Integer, nullable=False, default=0),
    Column("pinned", Boolean, nullable=False, default=False),
    Column("featured", Boolean, nullable=False, default=False),
    UniqueConstraint("event_id", "platform", "external_id"),
    _status_check("status", POST_STATUSES, "status"),
    # Keyset paging of an event's posts by status, newest first (wall, timeline, API).
    Index("ix_posts_event_status_created", "event_id", "status", "created_at", "id"),
    # The same filtered by network, and by author (the timeline's filters).
    Index("ix_posts_event_status_platform_created", "event_id", "status", "platform", "created_at", "id"),
    Index("ix_posts_author_status_created", "author_id", "status", "created_at", "id"),
    # The wall's pinned and featured posts: a few rows each, never a scan of the event.
    Index("ix_posts_pinned", "event_id", "status", "created_at", "id", sqlite_where=text("pinned = 1"),
          postgresql_where=text("pinned")),
    Index("ix_posts_featured", "event_id", "status", "created_at", "id", sqlite_where=text("featured = 1"),
          postgresql_where=text("featured")),
)

# Counts kept as posts change (triggers of migration 0010a on posts; storage/counts.py reads them):
# approved posts per 15-minute slot (seconds since the epoch // 900), network and kind, and per author.
# The timeline's chart and author filter read these, never every post of the event.
post_counts = Table(
    "post_counts",
    metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("slot", BigInteger, primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("n", Integer, nullable=False),
)

author_counts = Table(
    "author_counts",
    metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True),
    Column("n", Integer, nullable=False),
    Index("ix_author_counts_event_n", "event_id", "n"),
)

media = Table(
    "media",
    metadata,
    Column("id", Id, primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("thumbnail_url", Text),
    Column("alt_text", Text, nullable=False, default=""),
    Column("embed_url", Text),
    Column("video_key", String(64), index=True),
    Column("width", Integer),
    Column("height", Integer),
    Column("photo_hash", String(16)),  # 64-bit perceptual hash, hex
)

# Every moderation verdict, automatic or human, in order: the post's history.
moderation_decisions = Table(
    "moderation_decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("rule", Text, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("decided_at", UTCDateTime, nullable=False),
)

# Human actions, for organisers to read: who did what, when, before and after.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), index=True),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("username", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", Text, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("at", UTCDateTime, nullable=False),
)

# What must never come back when collected again: rejected, deleted at source, taken down.
tombstones = Table(
    "tombstones",
    metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("external_id", Text, primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False, default=""),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
    _status_check("role", ROLES, "role"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("author_id", ForeignKey("users.id", ondelete="SET NULL")),  # who created it
    Column("updated_by", ForeignKey("users.id", ondelete="SET NULL")),  # who changed it last
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    UniqueConstraint("event_id", "slug"),
    _status_check("status", ("draft", "published"), "status"),
)

# A story is an ordered list of blocks; a "section" block starts a new section with its heading.
story_blocks = Table(
    "story_blocks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("story_id", ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # section / text / post / photo / video
    Column("heading", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),  # Markdown for text blocks; caption otherwise
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE")),
    Column("media_url", Text),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("withdrawn", Boolean, nullable=False, default=False),
)

# Failed sign-ins, for throttling by username and by address.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
)

# Sign-in attempts being checked or failed, per "user:<name>" and "addr:<address>" key, in a window
# that starts at the first attempt. One conditional upsert takes a slot, so concurrent guesses
# cannot all pass the check (storage/users.py take_login_slot).
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
)

# Console sessions held server-side: the signed cookie names one by its nonce (stored hashed);
# logging out deletes it, disabling a user or changing a password deletes all of theirs.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the cookie's nonce
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# The transactional outbox: every change a public screen must see, in commit order.
# `seq` is the SSE event id; rows are never updated (AUTOINCREMENT: never reused on SQLite).
live_events = Table(
    "live_events",
    metadata,
    Column("seq", Id, primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("post_id", BigInteger().with_variant(Integer(), "sqlite")),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_live_events_event_seq", "event_id", "seq"),
    sqlite_autoincrement=True,
)

# The media store's index: each platform URL we keep (photo, thumbnail, video poster, avatar) and the
# content-addressed file (sha256) holding its bytes. Many URLs may share one file; files themselves
# live in the media store (aggregator/media/store.py), not in the database.
media_files = Table(
    "media_files",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("state", String(8), nullable=False),  # kept / failed
    Column("sha256", String(64), index=True),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("content_type", String(32), nullable=False, default=""),
    Column("error", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("fetched_at", UTCDateTime, nullable=False),
    _status_check("state", ("kept", "failed"), "state"),
)
