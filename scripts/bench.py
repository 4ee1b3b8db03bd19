"""Benchmarks (run through scripts/bench): numbers for docs/benchmarks.md, never asserted in tests.

1. ingest: posts/s through the whole pipeline (dedup + moderation + one storage
   transaction per collector page), for a large conference hashtag shaped like the
   platforms deliver it (bench_ingest.py: retweets and boosts, cross-posts, one
   Mastodon status seen through several instances, shared videos, overlapping pages),
   beside the baseline measured in the same run: raw executemany of the same final rows;
2. fan-out: from the commit of an approval to its delivery to every one of N
   subscribers of the live hub (the walls of a venue and phones);
3. paging: a timeline page (keyset, newest first, 50 posts) deep into a large event;
4. export: the whole public bundle (offline archive, CSV, JSONL, Atom, BagIt manifest) of a large event,
   in a child process: time, zip size and the child's peak RSS, beside the peak RSS of a child that only
   opens the same database (the baseline, measured in the same run).

Usage: scripts/bench [--only ingest|fan-out|paging|export] [--posts N] [--subscribers N] [--export-posts N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.live import LiveHub
from aggregator.pipeline.ingest import Ingestor
from aggregator.pipeline.sanitise import text_to_html
from aggregator.storage import PageCursor, PostQuery, Storage
from aggregator.storage.migrate import upgrade
from aggregator.types import Author, Decision, IngestItem, Platform, Post, Status

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WORDS = ("co-production", "keynote", "workshop", "community", "capacity", "assets", "open", "space", "wall",
         "graphic", "facilitation", "question", "contribute", "delegates", "hall", "coffee", "panel", "power")


def settings() -> Settings:
    return Settings.model_validate({"events": [{
        "slug": "bench", "title": "Bench", "timezone": "UTC", "start": START, "end": START + timedelta(hours=10),
        "hashtags": ["bench"], "sources": [{"kind": "mastodon", "name": "m", "api_base": "http://127.0.0.1:9"}],
        "moderation": {"mode": "post"},
    }]})


def post(i: int) -> Post:
    platform_ = (Platform.X, Platform.MASTODON, Platform.BLUESKY)[i % 3]
    who = f"user{i % 500}"
    text = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12)) + f" #{i} #bench"
    return Post(
        platform=platform_, external_id=f"{platform_.value}-{i}", url=f"https://example.org/{i}",
        author=Author(platform_, f"{platform_.value}:{who}", who, who.title()),
        created_at=START + timedelta(seconds=i * 0.5), text=text, html=text_to_html(text), hashtags=("bench",),
    )


def fresh(url: str) -> Storage:
    storage = Storage(url, clock=FakeClock(START + timedelta(hours=12)))
    upgrade(storage.engine)
    storage.sync_config(settings())
    return storage


def bench_ingest(url: str, raw_url: str, n: int) -> dict[str, float]:
    from bench_ingest import deliveries, raw_copy  # type: ignore[import-not-found]

    storage = fresh(url)
    ev = settings().events[0]
    event = storage.event("bench")
    assert event is not None
    source = storage.source(event.id, "m")
    assert source is not None
    ingestor = Ingestor(storage, ev, event.id, storage.clock)
    batches = deliveries(n, START)
    delivered = sum(len(b) for b in batches)
    inserted = 0
    began, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        inserted += ingestor.ingest(source.id, batch, None).inserted
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    cards = storage.count_by_status(event.id)
    storage.close()
    raw_rows, raw_took, raw_cpu = raw_copy(url, raw_url)
    return {"delivered": delivered, "stored": inserted, "cards": cards.get(Status.APPROVED, 0),
            "batches": len(batches), "rebuilds": getattr(ingestor, "rebuilds", -1), "seconds": took, "cpu_seconds": cpu,
            "posts_per_s": delivered / took, "raw_rows": raw_rows, "raw_seconds": raw_took,
            "raw_cpu_seconds": raw_cpu, "raw_posts_per_s": inserted / raw_took,
            "ratio_to_raw": f"{raw_took / took:.3f}", "cpu_ratio_to_raw": f"{raw_cpu / cpu:.3f}"}


async def _fan_out(storage: Storage, subscribers: int, rounds: int) -> list[float]:
    event = storage.event("bench")
    assert event is not None
    hub = LiveHub(storage, poll_interval=1.0, queue_size=1024)
    await hub.start()
    latencies: list[float] = []
    try:
        streams = [hub.subscribe(event.id) for _ in range(subscribers)]
        for r in range(rounds):
            sent = time.perf_counter()
            waiters = [asyncio.create_task(anext(s)) for s in streams]
            await asyncio.sleep(0)  # let them register
            await asyncio.to_thread(storage.ingest, event.id, None,
                                    [IngestItem(post(10_000_000 + r), Decision(Status.APPROVED, "bench"))], None)
            await asyncio.gather(*waiters)
            latencies.append(time.perf_counter() - sent)
        for s in streams:
            await s.aclose()
    finally:
        await hub.stop()
    return latencies


def bench_fan_out(url: str, subscribers: int, rounds: int = 30) -> dict[str, float]:
    storage = fresh(url)
    latencies = asyncio.run(_fan_out(storage, subscribers, rounds))
    storage.close()
    ms = sorted(x * 1000 for x in latencies)
    return {"subscribers": subscribers, "median_ms": statistics.median(ms), "p95_ms": ms[int(len(ms) * 0.95) - 1],
            "max_ms": ms[-1]}


def bench_paging(url: str, n: int) -> dict[str, float]:
    storage = fresh(url)
    event = storage.event("bench")
    assert event is not None
    batch = []
    for i in range(n):
        batch.append(IngestItem(post(i), Decision(Status.APPROVED, "bench")))
        if len(batch) == 1000:
            storage.ingest(event.id, None, batch, None)
            batch = []
    if batch:
        storage.ingest(event.id, None, batch, None)
    middle = PageCursor(START + timedelta(seconds=n * 0.25), 10**12)
    times = []
    for _ in range(50):
        began = time.perf_counter()
        page = storage.posts(event.id, PostQuery(before=middle, limit=50))
        times.append(time.perf_counter() - began)
        assert len(page.posts) == 50
    storage.close()
    ms = sorted(x * 1000 for x in times)
    return {"posts": n, "median_ms": statistics.median(ms), "p95_ms": ms[int(len(ms) * 0.95) - 1]}


def fill_for_export(url: str, n: int, media_dir: str) -> None:
    """n approved posts; every fifth a photo post, its thumbnail one of 200 kept files (shared, as at events)."""
    import io

    from PIL import Image

    from aggregator.media.store import LocalMediaStore
    from aggregator.types import Media, MediaKind, PostKind

    storage = fresh(url)
    event = storage.event("bench")
    assert event is not None
    store = LocalMediaStore(media_dir)
    for k in range(200):
        buf = io.BytesIO()
        Image.new("RGB", (320, 240), (k, 255 - k, (k * 7) % 256)).save(buf, "JPEG", quality=80)
        data = buf.getvalue()
        storage.record_media_kept(f"https://img.example.org/{k}.jpg", store.put(data), len(data), "image/jpeg")
    batch = []
    for i in range(n):
        p = post(i)
        if i % 5 == 0:
            url = f"https://img.example.org/{i % 200}.jpg"
            p = Post(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "kind": PostKind.PHOTO,
                        "media": (Media(MediaKind.PHOTO, url, url, alt_text="photo"),)})
        batch.append(IngestItem(p, Decision(Status.APPROVED, "bench")))
        if len(batch) == 1000:
            storage.ingest(event.id, None, batch, None)
            batch = []
    if batch:
        storage.ingest(event.id, None, batch, None)
    storage.close()


def export_child(url: str, media_dir: str, out: str) -> None:
    """Runs in the child process: `out` empty means the baseline (open the database, read the event, stop)."""
    from aggregator.export.bundle import write_bundle
    from aggregator.media.store import LocalMediaStore

    storage = Storage(url)
    event = storage.event("bench")
    assert event is not None
    if out:
        with open(out, "wb") as fh:
            write_bundle(storage, LocalMediaStore(media_dir), event, fh, public_url="https://bench.example.org",
                         now=START + timedelta(hours=12), database_revision=None)
    storage.close()


def _child(url: str, media_dir: str, out: str) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one child process."""
    import sys

    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--export-child", url, media_dir, out])
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the export child failed with {child.returncode}")
    return took, usage.ru_maxrss / 1024  # this child's own peak (KiB on Linux)


def bench_export(url: str, n: int, tmp: str) -> dict[str, float]:
    media_dir = os.path.join(tmp, "media")
    fill_for_export(url, n, media_dir)
    _, base_rss = _child(url, media_dir, "")
    out = os.path.join(tmp, "bundle.zip")
    took, peak_rss = _child(url, media_dir, out)
    return {"posts": n, "seconds": took, "zip_mb": os.path.getsize(out) / 2**20, "peak_rss_mb": peak_rss,
            "baseline_rss_mb": base_rss}


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu or platform.machine()}), {mem:.0f} GiB, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, commit {git}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("ingest", "fan-out", "paging"), help="run one benchmark")
    parser.add_argument("--posts", type=int, default=100_000, help="posts to deliver to ingest (default 100000)")
    parser.add_argument("--paging-posts", type=int, default=100_000, help="event size for paging (default 100000)")
    parser.add_argument("--subscribers", type=int, default=500, help="live subscribers (default 500)")
    parser.add_argument("--export-posts", type=int, default=100_000, help="event size for export (default 100000)")
    parser.add_argument("--only", choices=("ingest", "fan-out", "paging", "export"), help="run one benchmark")
    parser.add_argument("--export-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--postgres", default=os.environ.get("AGGREGATOR_BENCH_POSTGRES_URL", ""),
                        help="also run on this PostgreSQL database (its tables are replaced)")
    args = parser.parse_args()
    if args.export_child:
        export_child(*args.export_child)
        return
    print(f"machine: {machine()}", flush=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    def report(label: str, name: str, r: dict[str, Any]) -> None:
        print(f"{label:10} {name:8} " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                                  for k, v in r.items()), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", lambda name: f"sqlite:///{tmp}/{name}.db")]
        if args.postgres:
            backends.append(("PostgreSQL", lambda name: _pg_schema(args.postgres, name)))
        for label, url_for in backends:
            if args.only in (None, "ingest"):
                report(label, "ingest", bench_ingest(url_for("ingest"), url_for("raw"), args.posts))
            if args.only in (None, "fan-out"):
                report(label, "fan-out", bench_fan_out(url_for("fanout"), args.subscribers))
            if args.only in (None, "paging"):
                report(label, "paging", bench_paging(url_for("paging"), args.paging_posts))
            if args.only in (None, "export"):
                report(label, "export", bench_export(url_for("export"), args.export_posts, tmp))


def _pg_schema(base: str, name: str) -> str:
    """A fresh schema per benchmark on the given server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{name}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


if __name__ == "__main__":
    main()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
