"""Ingest fetches a photo's thumbnail once: re-delivered posts reuse the hashes already stored."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from aggregator.pipeline.ingest import Ingestor
from tests.factories import make_post, make_settings, migrated_storage


def jpeg(seed: int) -> bytes:
    img = Image.new("RGB", (64, 48), (seed * 40 % 255, 90, 160))
    for x in range(0, 64, 8):
        img.paste((255 - seed * 20 % 255, 30, 30), (x, 0, x + 4, 48 if x % 16 else 24))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def test_a_redelivered_batch_fetches_no_thumbnails(tmp_path: Path) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return jpeg(len(fetched))

    settings = make_settings()
    with migrated_storage(f"sqlite:///{tmp_path}/f.db", settings) as storage:
        event = storage.event("coproduction-2014")
        assert event is not None
        ingestor = Ingestor(storage, settings.events[0], event.id, storage.clock, fetch)
        batch = [make_post(i, photos=2) for i in range(3)]
        assert ingestor.ingest(None, batch, None).inserted == 3
        assert len(fetched) == 6
        assert ingestor.ingest(None, batch, None).unchanged == 3
        assert len(fetched) == 6  # nothing fetched again
        ingestor.ingest(None, [*batch, make_post(9, photos=1)], None)
        assert len(fetched) == 7  # only the new post's photo
