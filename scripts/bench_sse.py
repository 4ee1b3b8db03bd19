"""Fan-out over real SSE connections (run through `scripts/bench sse`): numbers for docs/benchmarks.md.

For each N: N SSE clients of one server process (uvicorn on 127.0.0.1, its own process) receive
40 events sent at 20 per second; latency from commit to receipt at each client. Two servers,
in interleaved runs (baseline, product, baseline, product, ...):

- baseline: a minimal sse-starlette broadcast app (below): one asyncio.Queue per client, a
  POST /publish puts the event in every queue, each client's EventSourceResponse encodes it;
  "commit" is the moment the driver sends the POST. Its payload is as big as a product card.
- product: `aggregator serve --no-collect` on a fresh PostgreSQL schema; the driver approves
  40 pending posts from its own process (Storage.moderate_posts), so each reaches the server
  through NOTIFY, like an approval made in another process; "commit" is when the call returns.

Clients: 1-2 processes of raw asyncio protocols (no HTTP library) that only look for `id:`
lines, spread over loopback source addresses 127.0.0.2-9. Server CPU (utime + stime from
/proc/<pid>/stat) is counted from "every client connected" to "every event received"; memory
is the server's RSS then.

One warm-up event goes to every client before the 40 (not counted: a fresh process's first
queries and template compilation are not what a running wall sees).

Usage: scripts/bench sse [--clients 1000,3000,5000] [--rounds 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS = 40
RATE = 20.0  # events per second
SLUG = "bench"
WAIT_AFTER = 180.0  # seconds to wait for the last deliveries before counting the rest as lost
CONNECT_TIMEOUT = 240.0
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]
TICK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent


# ---- the baseline: a minimal sse-starlette broadcast app ---------------------------------------------------


def baseline_app(payload_bytes: int) -> Any:
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    queues: set[asyncio.Queue[int]] = set()
    html = "<article class='card'>" + "x" * max(0, payload_bytes - 40) + "</article>"

    async def live(request: Request) -> EventSourceResponse:
        queue: asyncio.Queue[int] = asyncio.Queue(512)
        queues.add(queue)

        async def events() -> Any:
            try:
                yield ServerSentEvent(comment="live", retry=1500)
                while True:
                    seq = await queue.get()
                    yield ServerSentEvent(data=json.dumps({"kind": "post.approved", "post_id": seq, "html": html}),
                                          id=str(seq))
            finally:
                queues.discard(queue)

        return EventSourceResponse(events(), ping=15)

    async def publish(request: Request) -> Response:
        seq = int(request.query_params["seq"])
        for queue in list(queues):
            if not queue.full():
                queue.put_nowait(seq)
        return Response(status_code=204)

    return Starlette(routes=[Route("/live", live), Route("/publish", publish, methods=["POST"])])


def serve_baseline(port: int, payload_bytes: int) -> None:
    import uvicorn

    uvicorn.run(baseline_app(payload_bytes), host="127.0.0.1", port=port, log_level="warning")


# ---- the clients --------------------------------------------------------------------------------------------


class SSEClient(asyncio.Protocol):
    def __init__(self, request: bytes, got: dict[int, float], done: asyncio.Event, stats: dict[str, int]) -> None:
        self.request, self.got, self.done, self.stats = request, got, done, stats
        self.buf = b""
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.stats["bytes"] += len(data)
        if not self.ready.done():
            self.ready.set_result(None)
        if b"id:" not in data and not self.buf:
            return
        lines = (self.buf + data).split(b"\n")
        self.buf = lines.pop()
        for line in lines:
            if line.startswith(b"id:"):
                self.got.setdefault(int(line[3:].strip()), now)
                if len(self.got) >= EVENTS + 1:  # and the warm-up
                    self.done.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats["closed"] += 1
        self.done.set()
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the first byte"))


async def run_clients(port: int, path: str, n: int, first: int) -> None:
    """n connections; prints READY when all are streaming, then the receipts as JSON."""
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    stats = {"bytes": 0, "closed": 0}
    receipts: list[dict[int, float]] = []
    dones: list[asyncio.Event] = []
    gate = asyncio.Semaphore(100)  # the server's accept backlog is finite

    async def one(i: int) -> None:
        got: dict[int, float] = {}
        done = asyncio.Event()
        receipts.append(got)
        dones.append(done)
        async with gate:
            _, proto = await loop.create_connection(
                lambda: SSEClient(request, got, done, stats), "127.0.0.1", port,
                local_addr=(SOURCES[(first + i) % len(SOURCES)], 0))
            await proto.ready

    async with asyncio.timeout(CONNECT_TIMEOUT):
        await asyncio.gather(*(one(i) for i in range(n)))
    print("READY", flush=True)
    with open(0) as stdin:  # the driver says when the events start (a line on stdin)
        await loop.run_in_executor(None, stdin.readline)
    try:
        async with asyncio.timeout(EVENTS / RATE + WAIT_AFTER):
            for done in dones:
                await done.wait()
    except TimeoutError:
        pass
    out = {"receipts": [{str(k): v for k, v in got.items()} for got in receipts], **stats}
    print(json.dumps(out), flush=True)


# ---- the servers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  # loopback http only
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def settings_toml(start: datetime) -> str:
    return f"""
[server]
public_url = "http://127.0.0.1"

[[events]]
slug = "{SLUG}"
title = "Bench"
timezone = "UTC"
start = {start.strftime("%Y-%m-%dT%H:%M:%S")}
end = {(start + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%S")}
hashtags = ["bench"]

[[events.sources]]
kind = "mastodon"
name = "m"
api_base = "http://127.0.0.1:9"
"""


class Product:
    """`aggregator serve` over a fresh PostgreSQL schema with EVENTS pending posts."""

    name = "product"

    def __init__(self, base_url: str, workdir: Path, run: int) -> None:
        from aggregator.clock import FakeClock
        from aggregator.config import load_config
        from aggregator.pipeline.sanitise import text_to_html
        from aggregator.storage import PostQuery, Storage
        from aggregator.storage.migrate import upgrade
        from aggregator.types import Author, Decision, IngestItem, Platform, Post, Status

        self.url = _pg_schema(base_url, f"sse_{run}")
        now = datetime.now(UTC).replace(microsecond=0)
        config = workdir / f"bench-{run}.toml"
        config.write_text(settings_toml(now - timedelta(hours=1)))
        self.config = config
        cfg = load_config(str(config), environ={"DATABASE_URL": self.url})
        self.storage = Storage(self.url, clock=FakeClock(now))
        upgrade(self.storage.engine)
        self.storage.sync_config(cfg.settings)
        event = self.storage.event(SLUG)
        assert event is not None
        self.event_id = event.id
        posts = []
        for i in range(EVENTS + 1):  # the first is the warm-up
            text = (f"Card {i}: co-production keynote, community capacity and the graphic wall in the main hall, "
                    f"questions from the floor and coffee after the panel #bench {run}")
            author = Author(Platform.MASTODON, f"https://m.test/users/u{i}", f"u{i}", f"User {i}",
                            avatar_url=f"https://m.test/a/{i}.png")
            posts.append(IngestItem(Post(
                platform=Platform.MASTODON, external_id=f"https://m.test/p/{run}/{i}", url=f"https://m.test/@u/{i}",
                author=author, created_at=now - timedelta(minutes=5, seconds=i), text=text,
                html=text_to_html(text), hashtags=("bench",)), Decision(Status.PENDING, "mode:pre")))
        self.storage.ingest(self.event_id, None, posts, None)
        found = self.storage.posts(self.event_id, PostQuery(statuses=(Status.PENDING,), limit=EVENTS + 1)).posts
        self.post_ids = [p.id for p in found]
        assert len(self.post_ids) == EVENTS + 1
        self.start_seq = self.storage.last_live_seq()
        self.path = f"/e/{SLUG}/live?after={self.start_seq}"
        self.commits: dict[int, float] = {}  # post id -> commit time

    def start(self, port: int) -> subprocess.Popen[bytes]:
        exe = Path(sys.executable).parent / "aggregator"
        env = {**os.environ, "DATABASE_URL": self.url, "AGGREGATOR_SECRET_KEY": "bench-" + "k" * 40}
        return subprocess.Popen([str(exe), "serve", "--config", str(self.config), "--no-collect",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL)

    def send(self, i: int, port: int) -> None:
        from aggregator.storage.moderation import Actor

        post_id = self.post_ids[i + 1]  # i = -1: the warm-up
        self.storage.moderate_posts(self.event_id, [post_id], "approve", Actor(None, "bench"))
        if i >= 0:
            self.commits[post_id] = time.time()

    def commit_times(self) -> dict[int, float]:
        rows = self.storage.live_after(self.start_seq, self.event_id, 1000)
        return {r.seq: self.commits[r.post_id] for r in rows if r.post_id in self.commits}

    def close(self) -> None:
        self.storage.close()


class Baseline:
    """The publish requests go out from a pool, without waiting for the answers: a busy server
    answering late must not slow the driver below 20 events per second."""

    name = "baseline"
    path = "/live"

    def __init__(self, payload_bytes: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.payload_bytes = payload_bytes
        self.commits: dict[int, float] = {}
        self.pool = ThreadPoolExecutor(EVENTS + 1)

    def start(self, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, __file__, "baseline-server", "--port", str(port),
                                 "--payload-bytes", str(self.payload_bytes)], stdout=subprocess.DEVNULL)

    def send(self, i: int, port: int) -> None:
        if i >= 0:  # i = -1: the warm-up, seq 0
            self.commits[i + 1] = time.time()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/publish?seq={i + 1}", method="POST", data=b"")
        self.pool.submit(lambda: urllib.request.urlopen(req, timeout=WAIT_AFTER).close())  # noqa: S310

    def commit_times(self) -> dict[int, float]:
        return dict(self.commits)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def one_run(server: Product | Baseline, n: int, client_procs: int) -> dict[str, Any]:
    port = free_port()
    proc = server.start(port)
    clients: list[subprocess.Popen[str]] = []
    try:
        if server.name == "product":
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        else:
            _wait_port(port, proc)
        shares = [n // client_procs + (1 if k < n % client_procs else 0) for k in range(client_procs)]
        first = 0
        for share in shares:
            clients.append(subprocess.Popen(
                [sys.executable, __file__, "clients", "--port", str(port), "--path", server.path, "--n", str(share),
                 "--first", str(first)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
            first += share
        for c in clients:
            assert c.stdout is not None
            line = c.stdout.readline().strip()
            if line != "READY":
                raise RuntimeError(f"client process failed: {line!r}")
        for c in clients:
            assert c.stdin is not None
            c.stdin.write("go\n")
            c.stdin.flush()
        # One warm-up event, not counted (first queries, template compilation), then a pause
        # for the server to settle after the connection burst.
        server.send(-1, port)
        time.sleep(2.0)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        start = time.monotonic()
        for i in range(EVENTS):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            server.send(i, port)
        outs = []
        for c in clients:
            out, _ = c.communicate(timeout=EVENTS / RATE + WAIT_AFTER + 60)
            outs.append(json.loads(out.strip().splitlines()[-1]))
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        rss = rss_mib(proc.pid)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    commits = server.commit_times()
    latencies: list[float] = []
    firsts: dict[int, float] = {}
    for out in outs:
        for got in out["receipts"]:
            for seq, at in got.items():
                firsts[int(seq)] = min(at, firsts.get(int(seq), at))
    if os.environ.get("BENCH_SSE_DEBUG"):
        print("first receipt per event (ms):", [round(1000 * (firsts[s] - commits[s])) for s in sorted(firsts)
                                                if s in commits], flush=True)
    for out in outs:
        for got in out["receipts"]:
            for seq, at in got.items():
                if int(seq) in commits:
                    latencies.append(at - commits[int(seq)])
    latencies.sort()
    received = len(latencies)
    return {
        "server": server.name, "clients": n, "received": received, "lost": n * EVENTS - received,
        "min": latencies[0] if latencies else float("nan"), "p50": _pct(latencies, 50), "p99": _pct(latencies, 99), "max": latencies[-1] if latencies else float("nan"),
        "cpu_ms_per_delivery": 1000 * cpu / max(1, received), "cpu_s": cpu, "wall_s": wall, "rss_mib": rss,
        "bytes_per_event": sum(o["bytes"] for o in outs) / max(1, received),
        "closed": sum(o["closed"] for o in outs),
    }


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("baseline server did not start")


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def _pg_schema(base: str, name: str) -> str:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    b = sub.add_parser("baseline-server")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--payload-bytes", type=int, default=700)
    c = sub.add_parser("clients")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--path", required=True)
    c.add_argument("--n", type=int, required=True)
    c.add_argument("--first", type=int, default=0)
    parser.add_argument("--clients", default="1000,3000,5000", help="client counts (default 1000,3000,5000)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved baseline/product pairs per count")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--payload-bytes", type=int, default=700, help="baseline card size (default 700)")
    parser.add_argument("--postgres", default=os.environ.get("AGGREGATOR_BENCH_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.mode == "baseline-server":
        serve_baseline(args.port, args.payload_bytes)
        return
    if args.mode == "clients":
        asyncio.run(run_clients(args.port, args.path, args.n, args.first))
        return

    print(f"load before: {os.getloadavg()}", flush=True)
    results = []
    run = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.clients.split(",")]:
            for _ in range(args.rounds):
                for kind in ("baseline", "product"):
                    run += 1
                    server: Product | Baseline = (Baseline(args.payload_bytes) if kind == "baseline"
                                                  else Product(args.postgres, Path(tmp), run))
                    try:
                        load = os.getloadavg()[0]
                        r = one_run(server, n, args.client_procs if n > 1500 else 1)
                    finally:
                        server.close()
                    r["load"] = load
                    results.append(r)
                    print(json.dumps(r), flush=True)
    print()
    print("| clients | server | p50 | p99 | max | lost | CPU per delivery | RSS | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['clients']:,} | {r['server']} | {r['p50'] * 1000:,.0f} ms | {r['p99'] * 1000:,.0f} ms | "
              f"{r['max'] * 1000:,.0f} ms | {r['lost']} | {r['cpu_ms_per_delivery'] * 1000:,.0f} us | "
              f"{r['rss_mib']:,.0f} MiB | {r['load']:.1f} |")
    for n in sorted({r["clients"] for r in results}):
        pairs = [r for r in results if r["clients"] == n]
        base = [r["p99"] for r in pairs if r["server"] == "baseline"]
        prod = [r["p99"] for r in pairs if r["server"] == "product"]
        ratios = [p / b for p, b in zip(prod, base, strict=False) if b > 0]
        if ratios:
            print(f"{n:,} clients: p99 ratio product/baseline, median of pairs: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
