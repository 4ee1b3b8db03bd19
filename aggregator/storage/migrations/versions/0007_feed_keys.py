"""feed identity: generic feed posts are keyed `<source name>|<entry id>`

Generic RSS/Atom entry ids are not global (`1`, a bare path, a hash of an
empty title), so entries of different feeds merged into one post. The
collector now prefixes the key with the source's name. This moves stored
feed posts to the new key, so re-collecting an existing database updates
them instead of storing every feed post a second time. Tombstones of feed
posts do not record their source: each is copied once per feed source of
its event, so what was removed stays removed. Flickr and YouTube ids are
platform-global and keep their keys. Posts whose source row is gone keep
the old key (nothing will collect them again).

Revision ID: 0007
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

_POSTS = (
    "UPDATE posts SET external_id = "
    "(SELECT s.name FROM sources s WHERE s.id = posts.source_id) || '|' || external_id "
    "WHERE platform = 'feed' AND source_id IS NOT NULL"
)
_TOMBSTONES = (
    "INSERT INTO tombstones (event_id, platform, external_id, reason, created_at) "
    "SELECT t.event_id, t.platform, s.name || '|' || t.external_id, t.reason, t.created_at "
    "FROM tombstones t JOIN sources s ON s.event_id = t.event_id AND s.kind = 'feed' "
    "WHERE t.platform = 'feed' AND NOT EXISTS (SELECT 1 FROM tombstones o WHERE o.event_id = t.event_id "
    "AND o.platform = 'feed' AND o.external_id = s.name || '|' || t.external_id)"
)


def upgrade() -> None:
    op.execute(_TOMBSTONES)
    op.execute(_POSTS)


def downgrade() -> None:
    op.execute(
        "UPDATE posts SET external_id = substr(external_id, length("
        "(SELECT s.name FROM sources s WHERE s.id = posts.source_id)) + 2) "
        "WHERE platform = 'feed' AND source_id IS NOT NULL"
    )
