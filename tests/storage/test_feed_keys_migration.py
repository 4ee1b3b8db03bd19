"""Migration 0007: stored generic feed posts move to source-namespaced keys (issue 14.3).

Without it, the first collection after the upgrade would store every feed post again under its
new key; tombstones must keep forbidding what was removed.
"""

from __future__ import annotations

from sqlalchemy import text

from aggregator.storage.engine import make_engine
from aggregator.storage.migrate import upgrade

T = "'2026-05-14 10:00:00.000000'"


def test_feed_posts_and_tombstones_move_to_namespaced_keys(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO events (id, slug, title, timezone, starts_at, ends_at, venue, url, hashtags, "
                f"wall_options, updated_at) VALUES (1, 'ev', 'Ev', 'UTC', {T}, {T}, '', '', '[]', '{{}}', {T})"
            ))
            for sid, name, kind in ((1, "blog", "feed"), (2, "news", "feed"), (3, "flickr", "flickr")):
                conn.execute(text(
                    "INSERT INTO sources (id, event_id, name, kind, enabled, consecutive_failures, posts_collected) "
                    f"VALUES ({sid}, 1, '{name}', '{kind}', true, 0, 0)"
                ))
            conn.execute(text(
                "INSERT INTO authors (id, platform, external_id, handle, name, bot, updated_at) "
                f"VALUES (1, 'feed', 'a', 'a', 'a', false, {T})"
            ))
            for pid, platform, ext, source in ((1, "feed", "1", 1), (2, "flickr", "tag:flickr.com,2005:/photo/9", 3)):
                conn.execute(text(
                    "INSERT INTO posts (id, event_id, platform, external_id, url, author_id, source_id, created_at, "
                    "collected_at, updated_at, kind, title, text, html, sensitive, spoiler_text, hashtags, links, "
                    "status, status_rule, status_detail, repost_count, pinned, featured) VALUES "
                    f"({pid}, 1, '{platform}', '{ext}', '', 1, {source}, {T}, {T}, {T}, 'text', '', 't', 't', false, "
                    "'', '[]', '[]', 'approved', 'mode:post', '', 0, false, false)"
                ))
            conn.execute(text(
                "INSERT INTO tombstones (event_id, platform, external_id, reason, created_at) "
                f"VALUES (1, 'feed', 'gone', 'rejected', {T})"
            ))
        upgrade(engine)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT id, external_id FROM posts ORDER BY id")).all())
            dead = {r[0] for r in conn.execute(text("SELECT external_id FROM tombstones"))}
        assert keys == {1: "blog|1", 2: "tag:flickr.com,2005:/photo/9"}
        assert dead == {"gone", "blog|gone", "news|gone"}
    finally:
        engine.dispose()
