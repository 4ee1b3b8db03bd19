"""Two processes writing one SQLite file must never see "database is locked"."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.types import Cursor, Platform
from tests.factories import approved, make_post, make_settings

SECONDS = 10.0


def _writer(url: str, worker: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    storage = Storage(url)
    errors: list[str] = []
    batches = 0
    try:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        src = storage.source(ev.id, "masto")
        assert src is not None
        platform = [Platform.MASTODON, Platform.BLUESKY][worker]
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            try:
                items = [approved(make_post(n + i, platform)) for i in range(5)]
                storage.ingest(ev.id, src.id, items, Cursor(str(n)))
                storage.posts(ev.id)  # readers run alongside the writers
                n += 5
                batches += 1
            except Exception as exc:  # recorded, asserted on in the parent
                errors.append(str(exc))
    finally:
        storage.close()
        out.put((worker, batches, errors))


@pytest.mark.slow  # ~15 s of real concurrent writing; CI runs it (scripts/test deselects nothing)
def test_two_processes_write_one_file_for_ten_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    storage = Storage(url)
    upgrade(storage.engine)
    storage.sync_config(make_settings())
    storage.close()

    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_writer, args=(url, w, SECONDS, out)) for w in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=SECONDS + 60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    out.close()
    out.join_thread()

    errors = [e for _, _, errs in results for e in errs]
    assert errors == [], errors[:3]
    assert all(batches > 10 for _, batches, _ in results), results

    storage = Storage(url)
    try:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        total = sum(storage.count_by_status(ev.id).values())
        assert total == sum(batches * 5 for _, batches, _ in results)
    finally:
        storage.close()
