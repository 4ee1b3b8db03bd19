"""The archive at scale (issue 12, acceptance 4): a million posts in one event, pages over HTTP.

Builds one event of N posts directly with bulk inserts (executemany in chunks; the
schema's triggers run, so the kept counts and the full-text index are built as a
real ingest would build them), then serves it with `aggregator serve --no-collect`
(uvicorn, one process) and times each page over HTTP, sequentially:
timeline first page, a deep page, pages filtered by network, author and media
(photos), searches for a common and a rare word, and the wall's first byte.
The raw keyset query (Storage.posts, in this process) is timed in the same run as
the baseline. Databases live in a temporary directory / schema and are removed.

Usage: scripts/bench archive [--posts N] [--requests N] [--postgres URL] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Connection

sys.path.insert(0, str(Path(__file__).parent))
from bench import _pg_schema, machine

from aggregator.config import load_config
from aggregator.storage import PageCursor, PostQuery, Storage
from aggregator.storage.migrate import (
    MIGRATIONS,
    upgrade,
)
from aggregator.storage.schema import authors, media, posts
from aggregator.types import Platform

START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 09:00 in London
HOURS = 9
SLUG = "scale"
CHUNK = 5_000
AUTHORS = 40_000
COMMON = "community"  # in about 40% of posts
RARE = "zanzibar"  # in 12 posts
NETWORKS = [(Platform.X, 35), (Platform.MASTODON, 25), (Platform.BLUESKY, 25), (Platform.FLICKR, 5),
            (Platform.YOUTUBE, 3), (Platform.FEED, 7)]
STATUSES = [("approved", 92), ("duplicate", 5), ("rejected", 1.5), ("pending", 1), ("removed", 0.5)]
VOCAB = [f"{a}{b}" for a in ("co", "pro", "sha", "ve", "lu", "mi", "ta", "ne", "ri", "so", "da", "ke")
         for b in ("ring", "duct", "tion", "ment", "ness", "ward", "ful", "less", "ity", "ance", "ory", "ism",
                   "ate", "ive", "ous", "al", "er", "ist", "ure", "age")]
CONFIG = """
[server]
database_url = "sqlite:///unused.db"
public_url = "http://127.0.0.1"
media_dir = "{media}"

[[events]]
slug = "scale"
title = "A million posts"
timezone = "Europe/London"
start = 2026-06-10T09:00:00
end = 2026-06-10T18:00:00
hashtags = ["scale"]
{programme}
"""


def programme() -> str:
    out = []
    for i in range(HOURS):
        out.append(f'[[events.programme]]\ntitle = "Session {i + 1}"\nstart = 2026-06-10T{9 + i:02}:00:00\n'
                   f'end = 2026-06-10T{9 + i:02}:50:00\nkind = "talk"\n')
    return "\n".join(out)


def weighted(rng: random.Random, table: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def rows(n: int, event_id: int, author_ids: dict[int, list[int]], seed: int = 12) -> Iterator[list[dict[str, Any]]]:
    """Chunks of post rows with ids 1..n: networks, authors (a few prolific), hours (busier mid-session),
    kinds, statuses, duplicates pointing at earlier approved posts, a few pinned and featured."""
    rng = random.Random(seed)
    rare_at = set(rng.sample(range(n), 12))
    approved: list[int] = []
    chunk: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        net = weighted(rng, NETWORKS)
        pool = author_ids[list(Platform).index(net)]
        author = pool[int(len(pool) * rng.random() ** 3)]
        hour = rng.random() * HOURS
        created = START + timedelta(seconds=int(hour * 3600 + (rng.random() - 0.5) * 600) % (HOURS * 3600),
                                    microseconds=rng.randrange(1_000_000))
        kind = {Platform.FLICKR: "photo", Platform.YOUTUBE: "video", Platform.FEED: "link"}.get(
            net, weighted(rng, [("text", 70), ("photo", 22), ("video", 3), ("link", 5)]))
        status = weighted(rng, STATUSES)
        words = rng.choices(VOCAB, k=rng.randrange(8, 30))
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words)), COMMON)
        if i - 1 in rare_at:
            words.append(RARE)
        body = " ".join(words) + " #scale"
        canonical = dup_kind = None
        if status == "duplicate" and approved:
            canonical = approved[-1 - rng.randrange(min(len(approved), 500))]
            dup_kind = rng.choice(("exact", "repost", "crosspost", "same_media"))
        elif status == "duplicate":
            status = "approved"
        if status == "approved":
            approved.append(i)
        chunk.append({
            "id": i, "event_id": event_id, "platform": net.value, "external_id": f"{net.value}-{i}",
            "url": f"https://example.org/{net.value}/{i}", "author_id": author, "source_id": None,
            "created_by": None, "created_at": created, "collected_at": created, "updated_at": created,
            "edited_at": None, "kind": kind, "title": "", "text": body, "html": f"<p>{body}</p>", "language": "en",
            "sensitive": False, "spoiler_text": "", "hashtags": ["scale"], "links": [], "reply_to": None,
            "quote_of": None, "status": status, "status_rule": "bench", "status_detail": "",
            "canonical_id": canonical, "dup_kind": dup_kind, "repost_count": 0,
            "pinned": status == "approved" and i % 200_000 == 7, "featured": status == "approved" and i % 50_000 == 3,
        })
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _migration(name: str) -> Any:
    """A migration module (its SQL for the full-text index and the kept counts' triggers)."""
    path = MIGRATIONS / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, list):
        return json.dumps(v)
    return v


def _insert(conn: Connection, table: Any, chunk: list[dict[str, Any]]) -> None:
    """Straight to the driver: executemany on SQLite, COPY on PostgreSQL."""
    names = list(chunk[0])
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
                             [tuple(_sqlite_value(r[k]) for k in names) for r in chunk])
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for r in chunk:
            copy.write_row([json.dumps(v) if isinstance(v, list) else v for v in (r[k] for k in names)])


def build(url: str, cfg_path: Path, n: int) -> tuple[float, int]:
    """Migrate, load the config's event, bulk-load n posts; (seconds, event id).

    Like any bulk load, the secondary indexes, the full-text index and the triggers are set aside
    while rows go in and rebuilt after; the kept counts are then computed by the migration's own
    backfill (tests check that the triggers keep the same numbers on every write path)."""
    storage = Storage(url)
    upgrade(storage.engine)
    storage.sync_config(load_config(cfg_path).settings)
    event = storage.event(SLUG)
    assert event is not None
    fts, kept = _migration("0002_public"), _migration("0010a_kept_counts")
    secondary = [ix for t in (posts, media) for ix in t.indexes]
    sqlite = storage.dialect == "sqlite"
    began = time.perf_counter()
    with storage.engine.begin() as conn:
        for ix in secondary:
            conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
        if sqlite:
            for name in ("posts_fts_ai", "posts_fts_ad", "posts_fts_au", *kept.SQLITE_TRIGGER_NAMES):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            conn.execute(text("DROP INDEX IF EXISTS ix_posts_search"))
            conn.execute(text("DROP TRIGGER IF EXISTS posts_keep_counts ON posts"))
        author_rows = [{"platform": p.value, "external_id": f"{p.value}:{k}", "handle": f"{p.value}_user{k}",
                        "name": f"User {k} ({p.value})", "avatar_url": None, "profile_url": None, "bot": False,
                        "updated_at": START}
                       for p in list(Platform) for k in range(AUTHORS // len(Platform))]
        conn.execute(authors.insert(), author_rows)
        by_platform: dict[int, list[int]] = {}
        for a_id, plat in conn.execute(text("SELECT id, platform FROM authors ORDER BY id")):
            by_platform.setdefault(list(Platform).index(Platform(plat)), []).append(int(a_id))
    for chunk in rows(n, event.id, by_platform):
        with storage.engine.begin() as conn:
            _insert(conn, posts, chunk)
            media_rows = [{"post_id": r["id"], "position": 0, "kind": "photo" if r["kind"] == "photo" else "video",
                           "url": f"https://example.org/m/{r['id']}.jpg", "alt_text": "", "width": 1200, "height": 800}
                          for r in chunk if r["kind"] in ("photo", "video")]
            if media_rows:
                _insert(conn, media, media_rows)
    loaded = time.perf_counter() - began
    with storage.engine.begin() as conn:
        for ix in secondary:
            ix.create(conn)
        if sqlite:
            for statement in fts.SQLITE_FTS:
                conn.execute(text(statement))  # the triggers, and 'rebuild' of the index from posts
            for statement in kept.SQLITE_TRIGGERS:
                conn.execute(text(statement))
        else:
            conn.execute(text(fts.PG_INDEX))
            conn.execute(text(kept.PG_TRIGGER))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('posts', 'id'), (SELECT max(id) FROM posts))"))
        for statement in kept.backfill_statements(storage.dialect):
            conn.execute(text(statement))
    with storage.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    took = time.perf_counter() - began
    print(f"  rows loaded in {loaded:.0f} s, indexes, full-text index and counts built in {took - loaded:.0f} s",
          flush=True)
    storage.close()
    return took, event.id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Callable[[], Any], requests: int) -> dict[str, float]:
    fn()  # warm: templates compiled, pages of the database in the cache
    ms = []
    for _ in range(requests):
        began = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - began) * 1000)
    ms.sort()
    return {"p50_ms": statistics.median(ms), "p95_ms": ms[max(0, int(len(ms) * 0.95) - 1)], "max_ms": ms[-1]}


def measure(url: str, cfg_path: Path, event_id: int, requests: int) -> list[tuple[str, dict[str, float]]]:
    storage = Storage(url)
    deep = PageCursor(START + timedelta(hours=HOURS * 0.6), 10**12)
    with storage.read() as conn:
        prolific = int(conn.execute(text(
            "SELECT author_id FROM author_counts WHERE event_id = :e ORDER BY n DESC LIMIT 1"), {"e": event_id}
        ).scalar_one())
    results = [("raw keyset query (baseline)", timed(lambda: storage.posts(event_id, PostQuery(before=deep,
                                                                                               limit=40)), requests))]
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url)
    server = subprocess.Popen([str(Path(sys.executable).parent / "aggregator"), "serve", "--config", str(cfg_path),
                               "--no-collect", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith("serving on"):
                break
        else:
            raise RuntimeError(f"aggregator serve exited with {server.wait()} before serving")
        for _ in range(300):  # the line comes just before uvicorn binds
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            def get(path: str) -> Callable[[], None]:
                def run() -> None:
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                return run

            def first_byte(path: str) -> Callable[[], None]:
                def run() -> None:
                    with client.stream("GET", path) as r:
                        assert r.status_code == 200
                        next(r.iter_raw())
                return run

            t = f"/e/{SLUG}/timeline"
            pages = [
                ("JSON API page (newest)", get(f"/api/events/{SLUG}/posts")),
                ("timeline first page", get(t)),
                ("timeline deep page", get(f"{t}?before={deep.encode()}")),
                ("timeline network (YouTube)", get(f"{t}?platform=youtube")),
                ("timeline author (most posts)", get(f"{t}?author={prolific}")),
                ("timeline photos only", get(f"{t}?kind=photos")),
                (f"search, common word ({COMMON})", get(f"{t}?q={COMMON}")),
                (f"search, rare word ({RARE})", get(f"{t}?q={RARE}")),
                ("wall, first byte", first_byte(f"/e/{SLUG}/wall")),
            ]
            for label, fn in pages:
                results.append((label, timed(fn, requests)))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        storage.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--postgres", default=os.environ.get("AGGREGATOR_BENCH_POSTGRES_URL", ""),
                        help="also run on this PostgreSQL database (a fresh schema, dropped afterwards)")
    parser.add_argument("--sqlite-db", default="", help="measure this SQLite file built by an earlier run "
                        "(kept with --keep-sqlite) instead of building one")
    parser.add_argument("--postgres-built", action="store_true", help="measure the schema bench_archive left "
                        "by an interrupted run instead of building one")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep-sqlite", default="", help="copy the SQLite database built here to this path")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        cfg_path = Path(tmp) / "scale.toml"
        cfg_path.write_text(CONFIG.format(media=f"{tmp}/media", programme=programme()))
        backends: list[tuple[str, str]] = [("SQLite", f"sqlite:///{tmp}/scale.db")]
        if args.postgres:
            backends.append(("PostgreSQL", _schema_url(args.postgres) if args.postgres_built
                             else _pg_schema(args.postgres, "archive")))
        if args.no_sqlite:
            backends = backends[1:]
        if args.sqlite_db:
            backends[0] = ("SQLite", f"sqlite:///{args.sqlite_db}")
        for label, url in backends:
            if (label == "SQLite" and args.sqlite_db) or (label == "PostgreSQL" and args.postgres_built):
                storage = Storage(url)
                event = storage.event(SLUG)
                storage.close()
                assert event is not None
                event_id = event.id
                print(f"\n{label}: {url.split('?')[0]}, built by an earlier run", flush=True)
            else:
                took, event_id = build(url, cfg_path, args.posts)
                print(f"\n{label}: built {args.posts:,} posts in {took:.0f} s", flush=True)
                if label == "SQLite" and args.keep_sqlite:
                    shutil.copyfile(f"{tmp}/scale.db", args.keep_sqlite)
            for name, r in measure(url, cfg_path, event_id, args.requests):
                print(f"  {name:34} p50 {r['p50_ms']:8.1f} ms   p95 {r['p95_ms']:8.1f} ms   max {r['max_ms']:8.1f} ms",
                      flush=True)
            if label == "PostgreSQL":
                _drop_schema(args.postgres, "archive")
    print(f"\nload after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


def _schema_url(base: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).update_query_dict({"options": "-csearch_path=bench_archive"}).render_as_string(
        hide_password=False)


def _drop_schema(base: str, name: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "bench_{name}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    main()
