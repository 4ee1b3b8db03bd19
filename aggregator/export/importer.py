"""`aggregator import FILE`: rebuild an event from a backup, in any database (SQLite to PostgreSQL).

Refuses, with a message saying what to do, a file that is not a backup, a
backup in a newer format, or one made by a newer schema than this program
knows. Rows go in through storage.backup.Restorer in one transaction: an
import either completes or leaves the database as it was. Media files are put
back in the media store first (content-addressed: putting twice is harmless).
"""

from __future__ import annotations

import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from aggregator.export.backup import BACKUP_FORMAT, BACKUP_VERSION
from aggregator.media.store import MediaStore, extension
from aggregator.storage import Storage, StorageError
from aggregator.storage.backup import RestoreError, Restorer
from aggregator.storage.migrate import MIGRATIONS

Progress = Callable[[int, int], None]


class ImportRefused(Exception):
    """The file cannot be imported here; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    slug: str
    posts: int
    stories: int
    audit: int
    users: int
    media_files: int


def known_revisions() -> set[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions()}


def _root(zf: zipfile.ZipFile) -> str:
    for name in zf.namelist():
        if name.endswith("/data/backup/backup.json"):
            return name[: -len("data/backup/backup.json")]
    raise ImportRefused("this file is not a backup (no data/backup/backup.json): make one with "
                        "`aggregator export --event SLUG --backup --out FILE.zip`")


def _check(meta: dict[str, Any]) -> None:
    if meta.get("format") != BACKUP_FORMAT:
        raise ImportRefused("this file is not an event-aggregator backup")
    version = meta.get("version")
    if not isinstance(version, int) or version > BACKUP_VERSION:
        raise ImportRefused(f"this backup is in format version {version}, newer than this program reads "
                            f"({BACKUP_VERSION}): upgrade the aggregator, then import again")
    revision = meta.get("database_revision")
    if revision is not None and revision not in known_revisions():
        raise ImportRefused(f"this backup comes from a newer version of the aggregator (database schema "
                            f"{revision!r}, unknown here): upgrade the aggregator, then import again")


def import_backup(storage: Storage, store: MediaStore, path: Path, progress: Progress | None = None,
                  password_hash: Callable[[], str] | None = None) -> ImportResult:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ImportRefused(f"cannot read {path}: {exc}") from None
    with zf:
        root = _root(zf)
        meta = json.loads(zf.read(f"{root}data/backup/backup.json"))
        _check(meta)
        names = set(zf.namelist())
        rows_name = f"{root}data/backup/rows.jsonl"
        total = sum(1 for _ in zf.open(rows_name))
        make_hash = password_hash or _unusable_password
        restored: set[str] = set()
        try:
            with storage.write() as conn:
                restorer = Restorer(conn, make_hash)
                with zf.open(rows_name) as fh:
                    for i, line in enumerate(fh, 1):
                        item = json.loads(line)
                        if item["table"] == "media_files":
                            row = item["row"]
                            member = f"{root}data/media/{row['sha256']}.{extension(row['content_type'])}"
                            if member not in names:
                                continue  # not carried (not shown by this event): the page keeps the platform URL
                            if member not in restored:
                                store.put(zf.read(member))
                                restored.add(member)
                        restorer.add(item["table"], item["row"])
                        if progress is not None and (i % 500 == 0 or i == total):
                            progress(i, total)
                restorer.finish()
        except RestoreError as exc:
            raise ImportRefused(str(exc)) from None
        except StorageError as exc:
            raise ImportRefused(f"the import failed and nothing was changed: {exc}") from None
    c = restorer.counts
    return ImportResult(str(meta.get("event", "")), c["posts"], c["stories"], c["audit_log"], c["users"],
                        len(restored))


def _unusable_password() -> str:
    """A hash of a random secret nobody knows: imported users sign in after an organiser sets a password."""
    from aggregator.web.auth import hash_password

    return hash_password(secrets.token_urlsafe(32))
