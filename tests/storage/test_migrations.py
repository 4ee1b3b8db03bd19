"""The Alembic migrations and the schema in storage/schema.py must agree, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aggregator.storage.engine import make_engine
from aggregator.storage.migrate import current, upgrade
from aggregator.storage.schema import metadata
from aggregator.storage.search import include_object


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        assert current(engine) is not None
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
            diff = compare_metadata(ctx, metadata)
        assert diff == [], f"autogenerate found differences: {diff}"
    finally:
        engine.dispose()


def test_upgrade_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        first = current(engine)
        upgrade(engine)
        assert current(engine) == first
    finally:
        engine.dispose()
