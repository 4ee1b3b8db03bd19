"""`aggregator media`, `export`, `import` and `report`: keeping the day (progress bars, one-line summaries)."""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.config import LoadedConfig, load_config
from aggregator.progress import ProgressBar
from aggregator.storage import EventRecord, Storage


class CommandError(Exception):
    """A failure worded for the organiser; exit 1."""


def _load(args: argparse.Namespace) -> LoadedConfig:
    return load_config(getattr(args, "config", None))


def _events(storage: Storage, slug: str | None) -> list[EventRecord]:
    from aggregator.cli import UsageError

    if slug is None:
        return storage.events()
    event = storage.event(slug)
    if event is None:
        raise UsageError(f"no event {slug!r} (events: {', '.join(e.slug for e in storage.events()) or 'none'})")
    return [event]


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def cmd_media(args: argparse.Namespace) -> int:
    from aggregator.cli import open_storage
    from aggregator.runtime import build_keeper

    cfg = _load(args)
    storage = open_storage(cfg)
    try:
        events = _events(storage, args.event)
        if args.media_command == "status":
            for ev in events:
                s = storage.media_status(ev.id)
                print(f"{ev.slug}: {s.kept} kept, {s.missing} missing, {s.failed} failed "
                      f"(of {s.referenced} shown); {_size(s.bytes)}")
            return 0
        keeper = build_keeper(cfg, storage)
        try:
            removed = keeper.prune()
            kept = failed = size = 0
            for ev in events:
                bar = ProgressBar(f"{ev.slug} media")
                summary = keeper.fetch_event(ev.id, progress=bar.update)
                bar.close()
                kept, failed, size = kept + summary.kept, failed + summary.failed, size + summary.bytes
                if summary.over_cap:
                    print(f"{ev.slug}: stopped at the event's cap of {cfg.settings.server.media_max_event_mb} MB")
        finally:
            keeper.http.close()
        print(f"media: kept {kept} files ({_size(size)}), {failed} failed, {removed} no longer shown removed")
        return 0 if failed == 0 else 1
    finally:
        storage.close()


def cmd_export(args: argparse.Namespace) -> int:
    from aggregator.cli import open_storage
    from aggregator.export.bundle import write_bundle
    from aggregator.media.store import store_for
    from aggregator.storage.migrate import current

    cfg = _load(args)
    storage = open_storage(cfg)
    try:
        event = _events(storage, args.event)[0]
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        bar = ProgressBar(f"{event.slug} export")
        store = store_for(cfg.settings.server.media_dir)
        # Written beside the target, then renamed: a failed export never leaves half a bundle under its name.
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                if args.backup:
                    from aggregator.export.backup import write_backup

                    summary: Any = write_backup(storage, store, event, fh, public_url=cfg.settings.server.public_url,
                                                now=datetime.now(UTC), database_revision=current(storage.engine),
                                                progress=bar.update)
                else:
                    summary = write_bundle(storage, store, event, fh, public_url=cfg.settings.server.public_url,
                                           now=datetime.now(UTC), database_revision=current(storage.engine),
                                           progress=bar.update)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        what = "backup" if args.backup else "bundle"
        print(f"exported {event.slug} to {out} ({what}): {summary.cards} cards, {summary.media_files} media files, "
              f"{summary.files} files, {_size(out.stat().st_size)}")
        return 0
    finally:
        storage.close()


def cmd_import(args: argparse.Namespace) -> int:
    from aggregator.export.importer import ImportRefused, import_backup
    from aggregator.media.store import store_for
    from aggregator.storage.migrate import upgrade

    database = args.database
    cfg: LoadedConfig | None = None
    if database is None:
        cfg = _load(args)
        database = cfg.database_url
    media_dir = args.media_dir or (cfg.settings.server.media_dir if cfg is not None else "data/media")
    storage = Storage(database)
    try:
        upgrade(storage.engine)
        bar = ProgressBar("import")
        try:
            result = import_backup(storage, store_for(media_dir), Path(args.file), progress=bar.update)
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        print(f"imported {result.slug}: {result.posts} posts, {result.stories} stories, {result.audit} audit entries, "
              f"{result.users} users, {result.media_files} media files")
        return 0
    finally:
        storage.close()


def cmd_report(args: argparse.Namespace) -> int:
    from aggregator.cli import open_storage
    from aggregator.media.store import store_for

    cfg = _load(args)
    storage = open_storage(cfg)
    try:
        event = _events(storage, args.event)[0]
        from aggregator.web.report_pdf import PdfUnavailable, write_pdf

        try:
            pages = write_pdf(storage, store_for(cfg.settings.server.media_dir), event, Path(args.pdf),
                              datetime.now(UTC))
        except PdfUnavailable as exc:
            raise CommandError(str(exc)) from None
        print(f"wrote the report of {event.slug} to {args.pdf} ({pages} pages)")
        return 0
    finally:
        storage.close()


def add_export_commands(sub: Any) -> None:
    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE", help="event configuration (TOML); default: $AGGREGATOR_CONFIG")

    p = sub.add_parser("media", help="keep approved posts' photos, posters and avatars locally; or show how many")
    config_arg(p)
    p.add_argument("media_command", choices=("fetch", "status"), help="fetch: backfill now; status: counts and bytes")
    p.add_argument("--event", metavar="SLUG", help="only this event")
    p.set_defaults(handler=cmd_media)

    p = sub.add_parser("export", help="write the day as a bundle (offline archive, CSV, JSONL, Atom) or a backup")
    config_arg(p)
    p.add_argument("--event", metavar="SLUG", required=True, help="the event to export")
    p.add_argument("--out", metavar="FILE", required=True, help="the zip file to write")
    p.add_argument("--backup", action="store_true",
                   help="a full backup for `aggregator import`: every moderation state, audit log, drafts, roles")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", help="rebuild an event from a backup (e.g. from SQLite into PostgreSQL)")
    config_arg(p)
    p.add_argument("file", help="a zip written by `aggregator export --backup`")
    p.add_argument("--database", metavar="URL", help="the database to import into (default: the config's)")
    p.add_argument("--media-dir", metavar="DIR", help="where to put the media (default: the config's media_dir)")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("report", help="the report of the day as a PDF")
    config_arg(p)
    p.add_argument("--event", metavar="SLUG", required=True, help="the event")
    p.add_argument("--pdf", metavar="OUT.pdf", required=True, help="where to write the PDF")
    p.set_defaults(handler=cmd_report)
