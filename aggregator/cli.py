"""The `aggregator` command.

Every sub-command has --help. Errors are one clear message on stderr, never a
traceback: exit 2 for a wrong config or usage, 1 for a runtime failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from sqlalchemy.engine import make_url

from aggregator import __version__
from aggregator.config import ConfigError, LoadedConfig, load_config
from aggregator.storage import Storage, StorageError

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Wrong arguments; exit 2."""


def _add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="event configuration (TOML); default: $AGGREGATOR_CONFIG",
    )


def _load(args: argparse.Namespace) -> LoadedConfig:
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


# ---- commands -------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; pass --force to overwrite it")
    starter = resources.files("aggregator").joinpath("data/starter.toml").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter, encoding="utf-8")
    print(f"wrote {target}; edit it, then: aggregator check-config --config {target}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = _load(args)
    s = cfg.settings
    print(f"config: {cfg.path}")
    print(f"database: {safe_url(cfg.database_url)}")
    print(f"public url: {s.server.public_url}")
    for ev in s.events:
        start, end = ev.start.replace(tzinfo=None), ev.end.replace(tzinfo=None)
        print(f"event {ev.slug}: {ev.title}")
        print(f"  when: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {ev.timezone}; venue: {ev.venue or '-'}")
        print(f"  hashtags: {' '.join('#' + t for t in ev.hashtags)}")
        print(f"  programme: {len(ev.programme)} sessions")
        for p in ev.programme:
            print(f"    {p.start:%H:%M}-{p.end:%H:%M} [{p.kind}] {p.title}")
        print(f"  moderation: {ev.moderation.mode}-moderation, {len(ev.moderation.blocked_words)} blocked words")
        print(f"  sources: {len(ev.sources)} ({sum(1 for x in ev.sources if x.enabled)} enabled)")
        for i, src in enumerate(ev.sources):
            name = ev.source_name(i)
            state = "on " if src.enabled else "off"
            creds = cfg.secrets.get(f"{ev.slug}/{name}", {})
            cred_note = f"; credentials: {', '.join(sorted(creds))}" if creds else ""
            where = src.params.get("url") or src.base_url
            print(f"    [{state}] {name} ({src.kind}) every {src.interval}s from {where}{cred_note}")
    print("ok")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    cfg = _load(args)
    from aggregator.storage.migrate import current

    storage = open_storage(cfg)
    try:
        print(f"database {safe_url(cfg.database_url)} is at revision {current(storage.engine)}; "
              f"{len(cfg.settings.events)} event(s) in step with {cfg.path}")
    finally:
        storage.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Collect, deduplicate, moderate and show what people post about your event.",
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="write a starter configuration file")
    p.add_argument("path", nargs="?", default="aggregator.toml", help="where to write it (default: aggregator.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("check-config", help="validate a configuration file and summarise it")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("migrate", help="create or upgrade the database schema and load the config's events")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_migrate)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"aggregator: config error:\n{exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aggregator: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
