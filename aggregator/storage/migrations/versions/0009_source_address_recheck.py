"""sources: address fingerprint (a changed address resets the cursor) and the deletion sweep's position

Revision ID: 0009
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (no batch copy of `sources`; posts' FTS triggers untouched).
    op.add_column("sources", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("recheck_position", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("recheck_position")
        batch.drop_column("address")
