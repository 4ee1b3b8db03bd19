"""Alembic environment: the engine comes from aggregator.storage.migrate, never from a file."""

from __future__ import annotations

from alembic import context

from aggregator.storage.schema import metadata
from aggregator.storage.search import include_object  # skips the full-text objects of 0002 (not modelled)

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
        include_object=include_object,
    )
    context.run_migrations()
