"""the archive at scale: counts kept as posts change, and indexes for the wall and filtered pages

`post_counts` holds approved posts per (event, 15-minute slot, network, kind) and
`author_counts` approved posts per (event, author). The timeline's chart and
author filter read them instead of grouping every post of the event per request.
Slots are 15 minutes (the finest step of any time zone's offset), so the chart's
hours in the event's time zone are whole sums of slots.

They are kept by triggers on `posts` (insert, delete, and an update of status,
created_at, platform, kind, author_id or event_id), so every writer (ingest,
moderation, deletions, imports) keeps them right in its own transaction:
- SQLite: four triggers `posts_counts_*`;
- PostgreSQL: the function `posts_keep_counts()` and the trigger `posts_keep_counts`.
Neither is in schema.py (dialect-specific). Like 0002's FTS triggers, a SQLite batch
("move and copy") alteration of `posts` drops them: recreate with `create_sqlite_triggers()`.

SQLite also gets `posts_fts_vocab` (fts5vocab over 0002's posts_fts): search spells a
common prefix out as the whole words it covers.

Partial indexes serve the wall's pinned and featured lookups; two more serve keyset
pages filtered by network and by author.

Revision ID: 0010a
Revises: 0004
"""

from __future__ import annotations

# ruff: noqa: S608  (the SQL here is built from constants only: column names and "new"/"old")
import sqlalchemy as sa
from alembic import op

revision = "0010a"
down_revision = "0004"
branch_labels = None
depends_on = None

SLOT_SECONDS = 900
_SQLITE_SLOT = f"CAST(strftime('%s', substr({{row}}.created_at, 1, 19)) AS INTEGER) / {SLOT_SECONDS}"
_PG_SLOT = f"floor(extract(epoch FROM {{row}}.created_at) / {SLOT_SECONDS})::bigint"


def _sqlite_add(row: str) -> str:
    return (
        "INSERT INTO post_counts(event_id, slot, platform, kind, n) "
        f"VALUES ({row}.event_id, {_SQLITE_SLOT.format(row=row)}, {row}.platform, {row}.kind, 1) "
        "ON CONFLICT(event_id, slot, platform, kind) DO UPDATE SET n = n + 1; "
        f"INSERT INTO author_counts(event_id, author_id, n) VALUES ({row}.event_id, {row}.author_id, 1) "
        "ON CONFLICT(event_id, author_id) DO UPDATE SET n = n + 1;"
    )


def _sqlite_remove(row: str) -> str:
    return (
        f"UPDATE post_counts SET n = n - 1 WHERE event_id = {row}.event_id "
        f"AND slot = {_SQLITE_SLOT.format(row=row)} AND platform = {row}.platform AND kind = {row}.kind; "
        f"UPDATE author_counts SET n = n - 1 WHERE event_id = {row}.event_id AND author_id = {row}.author_id;"
    )


_COUNTED = "status, created_at, platform, kind, author_id, event_id"
_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in _COUNTED.split(", "))
SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS posts_counts_ai AFTER INSERT ON posts WHEN new.status = 'approved' "
    f"BEGIN {_sqlite_add('new')} END",
    "CREATE TRIGGER IF NOT EXISTS posts_counts_ad AFTER DELETE ON posts WHEN old.status = 'approved' "
    f"BEGIN {_sqlite_remove('old')} END",
    f"CREATE TRIGGER IF NOT EXISTS posts_counts_au_old AFTER UPDATE OF {_COUNTED} ON posts "
    f"WHEN old.status = 'approved' AND ({_CHANGED}) BEGIN {_sqlite_remove('old')} END",
    f"CREATE TRIGGER IF NOT EXISTS posts_counts_au_new AFTER UPDATE OF {_COUNTED} ON posts "
    f"WHEN new.status = 'approved' AND ({_CHANGED}) BEGIN {_sqlite_add('new')} END",
]
# The full-text index's vocabulary: a search spells a common prefix out as the words it covers.
SQLITE_VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts_vocab USING fts5vocab(posts_fts, row)"
SQLITE_TRIGGER_NAMES = ("posts_counts_ai", "posts_counts_ad", "posts_counts_au_old", "posts_counts_au_new")

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION posts_keep_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.status, OLD.created_at, OLD.platform, OLD.kind, OLD.author_id, OLD.event_id)
            IS NOT DISTINCT FROM (NEW.status, NEW.created_at, NEW.platform, NEW.kind, NEW.author_id, NEW.event_id)
    THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'approved' THEN
        UPDATE post_counts SET n = n - 1 WHERE event_id = OLD.event_id AND slot = {_PG_SLOT.format(row="OLD")}
            AND platform = OLD.platform AND kind = OLD.kind;
        UPDATE author_counts SET n = n - 1 WHERE event_id = OLD.event_id AND author_id = OLD.author_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'approved' THEN
        INSERT INTO post_counts AS c (event_id, slot, platform, kind, n)
            VALUES (NEW.event_id, {_PG_SLOT.format(row="NEW")}, NEW.platform, NEW.kind, 1)
            ON CONFLICT (event_id, slot, platform, kind) DO UPDATE SET n = c.n + 1;
        INSERT INTO author_counts AS c (event_id, author_id, n) VALUES (NEW.event_id, NEW.author_id, 1)
            ON CONFLICT (event_id, author_id) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END $$
"""
PG_TRIGGER = (
    f"CREATE TRIGGER posts_keep_counts AFTER INSERT OR DELETE OR UPDATE OF {_COUNTED} ON posts "
    "FOR EACH ROW EXECUTE FUNCTION posts_keep_counts()"
)


def backfill_statements(dialect: str) -> list[str]:
    """Recount from posts (the migration's backfill; tests compare kept counts with this)."""
    slot = (_SQLITE_SLOT if dialect == "sqlite" else _PG_SLOT).format(row="posts")
    return [
        "DELETE FROM post_counts",
        "DELETE FROM author_counts",
        f"INSERT INTO post_counts(event_id, slot, platform, kind, n) SELECT event_id, {slot}, platform, kind, "
        f"count(*) FROM posts WHERE status = 'approved' GROUP BY event_id, {slot}, platform, kind",
        "INSERT INTO author_counts(event_id, author_id, n) SELECT event_id, author_id, count(*) FROM posts "
        "WHERE status = 'approved' GROUP BY event_id, author_id",
    ]


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "post_counts",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_post_counts_event_id_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "slot", "platform", "kind", name=op.f("pk_post_counts")),
    )
    op.create_table(
        "author_counts",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_author_counts_event_id_events"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], name=op.f("fk_author_counts_author_id_authors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "author_id", name=op.f("pk_author_counts")),
    )
    op.create_index("ix_author_counts_event_n", "author_counts", ["event_id", "n"])
    flagged = ["event_id", "status", "created_at", "id"]
    op.create_index("ix_posts_pinned", "posts", flagged, sqlite_where=sa.text("pinned = 1"),
                    postgresql_where=sa.text("pinned"))
    op.create_index("ix_posts_featured", "posts", flagged, sqlite_where=sa.text("featured = 1"),
                    postgresql_where=sa.text("featured"))
    op.create_index("ix_posts_event_status_platform_created", "posts",
                    ["event_id", "status", "platform", "created_at", "id"])
    op.create_index("ix_posts_author_status_created", "posts", ["author_id", "status", "created_at", "id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        create_sqlite_triggers()
        op.execute(SQLITE_VOCAB)
    else:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    for statement in backfill_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS posts_fts_vocab")
    else:
        op.execute("DROP TRIGGER IF EXISTS posts_keep_counts ON posts")
        op.execute("DROP FUNCTION IF EXISTS posts_keep_counts()")
    for name in ("ix_posts_author_status_created", "ix_posts_event_status_platform_created", "ix_posts_featured",
                 "ix_posts_pinned"):
        op.drop_index(name, table_name="posts")
    op.drop_index("ix_author_counts_event_n", table_name="author_counts")
    op.drop_table("author_counts")
    op.drop_table("post_counts")
