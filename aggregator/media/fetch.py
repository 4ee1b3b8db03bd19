"""The background job that keeps approved posts' media: fetch, store by content, prune what is no longer shown.

It runs beside the collectors (a scheduler task, or `aggregator media fetch`),
never inside the ingest transaction and never on the web event loop. Every
request goes through the collectors' safe HTTP client (timeouts, size caps,
destination policy). Per file: `server.media_max_file_mb`; per event:
`server.media_max_event_mb` (past it, the pages keep the platform's URL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aggregator.clock import Clock, system_clock
from aggregator.media.store import MediaStore, image_type
from aggregator.sources.base import SourceError
from aggregator.sources.http import MB, HttpClient
from aggregator.storage import Storage, StorageError

log = logging.getLogger("aggregator.media")

BATCH = 200  # URLs per event per run of the job


@dataclass(frozen=True, slots=True)
class MediaCaps:
    max_file_bytes: int = 20 * MB
    max_event_bytes: int = 2048 * MB


@dataclass(frozen=True, slots=True)
class FetchSummary:
    kept: int = 0
    failed: int = 0
    bytes: int = 0
    removed_files: int = 0
    over_cap: bool = False  # stopped because the event's cap was reached


Progress = Callable[[int, int], None]  # (done, of) URLs in this pass


class MediaKeeper:
    def __init__(self, storage: Storage, store: MediaStore, http: HttpClient, caps: MediaCaps | None = None,
                 clock: Clock = system_clock, uploads: Path | None = None) -> None:
        self.storage, self.store, self.http = storage, store, http
        self.uploads = uploads.resolve() if uploads is not None else None  # reporters' uploads: /media/...
        self.stopping = threading.Event()  # set on shutdown: a run in progress ends after its current file
        self.caps = caps or MediaCaps()
        self.clock = clock

    def stop(self) -> None:
        self.stopping.set()

    def prune(self) -> int:
        """Remove files that no approved post shows any more (after takedowns, deletions at the source)."""
        orphans = self.storage.prune_media()
        for digest in orphans:
            self.store.delete(digest)
        if orphans:
            log.info("media.pruned files=%d", len(orphans))
        return len(orphans)

    def fetch_event(self, event_id: int, limit: int | None = None, progress: Progress | None = None) -> FetchSummary:
        """Keep what the event's approved posts show and is not kept yet (up to `limit` URLs)."""
        kept = failed = size = 0
        used = self.storage.media_event_bytes(event_id)
        todo = self.storage.media_wanted(event_id, limit or 1_000_000)
        for i, url in enumerate(todo):
            if self.stopping.is_set():
                break
            if used >= self.caps.max_event_bytes:
                log.warning("media.event_cap event=%d bytes=%d", event_id, used)
                return FetchSummary(kept, failed, size, over_cap=True)
            ok, n = self._keep(url, self.caps.max_event_bytes - used)
            kept, failed, size, used = kept + ok, failed + (not ok), size + n, used + n
            if progress is not None:
                progress(i + 1, len(todo))
        return FetchSummary(kept, failed, size)

    def _keep(self, url: str, room: int) -> tuple[bool, int]:
        now = self.clock()
        try:
            data = self._read(url, min(self.caps.max_file_bytes, max(room, 1)))
            ctype = image_type(data[:16])
            if ctype is None:
                raise SourceError("not an image (JPEG, PNG, GIF or WebP)")
            digest = self.store.put(data)
            self.storage.record_media_kept(url, digest, len(data), ctype)
            return True, len(data)
        except SourceError as exc:
            try:
                self.storage.record_media_failed(url, str(exc))
            except StorageError:
                log.exception("media.not_recorded url=%s", url)
            log.info("media.failed url=%s error=%s at=%s", url, exc, now.isoformat())
            return False, 0

    def _read(self, url: str, limit: int) -> bytes:
        if not url.startswith("/media/"):
            return self.http.get_bytes(url, max_bytes=limit)
        # A reporter's upload, already on this server: copied from the upload folder, never fetched.
        if self.uploads is None:
            raise SourceError("reporters' uploads are not readable here")
        path = (self.uploads / url.removeprefix("/media/")).resolve()
        if self.uploads not in path.parents or not path.is_file():
            raise SourceError(f"no such upload: {url}")
        if path.stat().st_size > limit:
            raise SourceError(f"upload over the size cap: {url}")
        return path.read_bytes()

    def run(self, event_ids: list[int], per_run: int = BATCH) -> FetchSummary:
        """One scheduler tick: prune, then a bounded batch per event. Never raises StorageError."""
        total = FetchSummary()
        try:
            removed = self.prune()
            for event_id in event_ids:
                s = self.fetch_event(event_id, per_run)
                total = FetchSummary(total.kept + s.kept, total.failed + s.failed, total.bytes + s.bytes,
                                     total.removed_files, total.over_cap or s.over_cap)
            total = FetchSummary(total.kept, total.failed, total.bytes, removed, total.over_cap)
        except StorageError as exc:
            log.warning("media.run_failed error=%s", exc)
        if total.kept or total.failed or total.removed_files:
            log.info("media.fetched kept=%d failed=%d bytes=%d removed=%d", total.kept, total.failed, total.bytes,
                     total.removed_files)
        return total
