"""Migration 0003 (sessions, sign-in throttle, stories.updated_by) keeps existing stories and their
blocks: a SQLite batch copy of `stories` would have cascaded into story_blocks and emptied them."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import text

from aggregator.storage.engine import make_engine
from aggregator.storage.migrate import alembic_config, upgrade


def test_upgrading_keeps_stories_and_their_blocks(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        before = ScriptDirectory.from_config(alembic_config(engine)).get_revision("0003").down_revision
        assert isinstance(before, str)
        upgrade(engine, before)
        now = {"n": datetime(2026, 1, 1, tzinfo=UTC)}
        with engine.begin() as c:
            c.execute(text("INSERT INTO events (slug, title, timezone, starts_at, ends_at, venue, url, hashtags, "
                           "wall_options, updated_at) VALUES ('e', 'E', 'UTC', :n, :n, '', '', '[]', '{}', :n)"), now)
            c.execute(text("INSERT INTO users (username, display_name, password_hash, role, disabled, created_at) "
                           "VALUES ('rita', 'Rita', 'x', 'reporter', false, :n)"), now)
            c.execute(text("INSERT INTO stories (event_id, slug, title, summary, status, author_id, created_at, "
                           "updated_at) SELECT events.id, 's', 'S', '', 'draft', users.id, :n, :n FROM events, users"),
                      now)
            c.execute(text("INSERT INTO story_blocks (story_id, position, kind, heading, body) "
                           "SELECT id, 0, 'text', '', 'kept' FROM stories"))
        upgrade(engine)
        with engine.connect() as c:
            assert c.execute(text("SELECT body FROM story_blocks")).scalars().all() == ["kept"]
            assert c.execute(text("SELECT updated_by FROM stories")).scalars().all() == [None]
    finally:
        engine.dispose()
