"""`aggregator export --backup`: the public bundle plus `data/backup/`, everything import needs.

    data/backup/backup.json     format, version, schema revision, the event's slug
    data/backup/rows.jsonl      one line per row: {"table": ..., "row": {...}} in restore order
                                (users without password hashes; every post in every state; decisions,
                                audit log, drafts, tombstones, standings, announcements, the media index)

The kept media travel in data/media/ as in the public bundle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from aggregator.export.bundle import BundleSummary, Progress, write_bundle
from aggregator.export.zipbag import BagZip
from aggregator.media.store import MediaStore
from aggregator.storage import EventRecord, Storage
from aggregator.storage.backup import dump

BACKUP_FORMAT = "event-aggregator-backup"
BACKUP_VERSION = 1


def write_backup(storage: Storage, store: MediaStore, event: EventRecord, out: BinaryIO, *, public_url: str,
                 now: datetime, database_revision: str | None, progress: Progress | None = None) -> BundleSummary:
    def extra(bag: BagZip) -> None:
        bag.write("backup/backup.json", json.dumps({
            "format": BACKUP_FORMAT, "version": BACKUP_VERSION, "database_revision": database_revision,
            "event": event.slug, "exported_at": now.isoformat()}, indent=2) + "\n")
        bag.write_chunks("backup/rows.jsonl", _rows(storage, event.id))

    return write_bundle(storage, store, event, out, public_url=public_url, now=now,
                        database_revision=database_revision, progress=progress, extra=extra)


def _rows(storage: Storage, event_id: int) -> Iterator[str]:
    with storage.read() as conn:
        for table, row in dump(conn, event_id):
            yield json.dumps({"table": table, "row": row}, ensure_ascii=False, sort_keys=True) + "\n"
