"""public surfaces: full-text search over posts

SQLite: an FTS5 table `posts_fts` over posts.title and posts.text (external
content: it stores only the index), kept in step by triggers.
PostgreSQL: a GIN index on the expression
`to_tsvector('simple', title || ' ' || text)`; queries (storage/search.py)
repeat the expression exactly so the planner can use it.

Neither object is in schema.py's metadata (they are dialect-specific);
migrations/env.py `include_object` leaves them out of autogenerate.

Note for later migrations: a SQLite batch ("move and copy") alteration of
`posts` drops these triggers; recreate them with `create_sqlite_fts()`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5("
    "title, text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_ai AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_ad AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_au AFTER UPDATE OF title, text ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO posts_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
]

PG_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_posts_search ON posts "
    "USING gin (to_tsvector('simple'::regconfig, title || ' ' || text))"
)


def create_sqlite_fts() -> None:
    for statement in SQLITE_FTS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_fts()
    else:
        op.execute(PG_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("posts_fts_ai", "posts_fts_ad", "posts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
