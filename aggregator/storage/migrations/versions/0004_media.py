"""media store index: the platform URLs kept locally and the content-addressed file of each

Revision ID: 0004
Revises: 0003 (chained after the migrations merged before it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import aggregator.storage.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fetched_at", aggregator.storage.schema.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('kept', 'failed')", name=op.f("ck_media_files_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.UniqueConstraint("url", name=op.f("uq_media_files_url")),
    )
    op.create_index(op.f("ix_media_files_sha256"), "media_files", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_files_sha256"), table_name="media_files")
    op.drop_table("media_files")
