"""What the `aggregator` sub-command modules share (cli, cli_users, demo), so none imports another."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url

from aggregator.config import LoadedConfig, load_config
from aggregator.storage import Storage

__all__ = ["UsageError", "add_config_arg", "load_from_args", "open_storage", "safe_url"]


class UsageError(Exception):
    """Wrong arguments; exit 2."""


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="event configuration (TOML); default: $AGGREGATOR_CONFIG",
    )


def load_from_args(args: argparse.Namespace) -> LoadedConfig:
    return load_config(getattr(args, "config", None))


def open_storage(cfg: LoadedConfig, migrate: bool = True) -> Storage:
    """The configured database, migrated to the newest schema and in step with the config."""
    from aggregator.storage.migrate import upgrade

    storage = Storage(cfg.database_url)
    if migrate:
        upgrade(storage.engine)
        storage.sync_config(cfg.settings)
    return storage


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
