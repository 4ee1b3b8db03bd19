"""web security: server-side sessions, an atomic sign-in throttle, who last edited a story

Revision ID: 0003
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aggregator.storage.schema

revision = "0003"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", aggregator.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", aggregator.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", aggregator.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a named reference only by copying the table (batch). Dropping the old `stories`
        # with foreign keys on cascades into story_blocks, so their rows are set aside and put back.
        op.execute("CREATE TEMP TABLE _story_blocks_0003 AS SELECT * FROM story_blocks")
        with op.batch_alter_table("stories", schema=None) as batch_op:
            batch_op.add_column(sa.Column("updated_by", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f("fk_stories_updated_by_users"), "users", ["updated_by"], ["id"],
                                        ondelete="SET NULL")
        op.execute("DELETE FROM story_blocks")
        op.execute("INSERT INTO story_blocks SELECT * FROM _story_blocks_0003")
        op.execute("DROP TABLE _story_blocks_0003")
    else:
        op.add_column("stories", sa.Column("updated_by", sa.BigInteger(), nullable=True))
        op.create_foreign_key(op.f("fk_stories_updated_by_users"), "stories", "users", ["updated_by"], ["id"],
                              ondelete="SET NULL")

def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TEMP TABLE _story_blocks_0003 AS SELECT * FROM story_blocks")
        with op.batch_alter_table("stories", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("fk_stories_updated_by_users"), type_="foreignkey")
            batch_op.drop_column("updated_by")
        op.execute("DELETE FROM story_blocks")
        op.execute("INSERT INTO story_blocks SELECT * FROM _story_blocks_0003")
        op.execute("DROP TABLE _story_blocks_0003")
    else:
        op.drop_constraint(op.f("fk_stories_updated_by_users"), "stories", type_="foreignkey")
        op.drop_column("stories", "updated_by")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("login_throttle")
