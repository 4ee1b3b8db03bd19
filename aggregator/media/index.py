"""Which platform URLs have a local copy: the pages ask this to prefer /media/<sha256> over the platform.

One map per web process, reloaded from the database at most every `ttl`
seconds (and only from worker threads: route handlers are sync, the live
stream renders in a thread). Until a URL is kept, pages use the platform's URL.
"""

from __future__ import annotations

import contextlib
import threading
import time

from aggregator.storage import Storage, StorageError


class MediaIndex:
    def __init__(self, storage: Storage, ttl: float = 5.0) -> None:
        self.storage, self.ttl = storage, ttl
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}
        self._loaded = float("-inf")

    def _refresh(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded >= self.ttl:
                # On a database error keep the last map: pages fall back to the platforms' URLs.
                with contextlib.suppress(StorageError):
                    self._map = {url: f.sha256 for url, f in self.storage.kept_media().items()}
                self._loaded = now
            return self._map

    def local(self, url: str | None) -> str | None:
        """`/media/<sha256>` for a kept URL, else None."""
        if not url:
            return None
        digest = self._refresh().get(url)
        return f"/media/{digest}" if digest else None
