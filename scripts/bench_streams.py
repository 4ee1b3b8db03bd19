"""Post-to-wall over streaming sources (run through `scripts/bench --streams`): numbers for docs/benchmarks.md.

Three processes on loopback, as a deployment: the sandbox (`python -m aggregator.sandbox`)
playing a scenario in real time with Jetstream's firehose of unrelated posts at --firehose
per second; `aggregator serve` collecting (a streaming Mastodon source, a streaming Bluesky
source, and a polling-only Mastodon source at the default 60 s interval as the baseline) with
post-moderation (auto-approval); and this script, subscribed to the wall's SSE stream
(`/e/<slug>/live`). For each post: time from its release in the sandbox to its card on the
wall. Then streamed deletions: time from the delete to the card's retraction on the wall.

Usage: scripts/bench --streams [--seconds 120] [--firehose 600]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

SLUG = "streambench"
TOKEN = re.compile(r"benchtoken-(\w+)-(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scenario(seconds: int, lead: float) -> dict[str, Any]:
    posts = []
    for i in range(seconds):  # one streamed Mastodon and one Bluesky post a second, a polled one every 2 s
        t = lead + i
        posts.append({"id": f"ma-{i}", "at": t, "platform": "mastodon", "author": "ann",
                      "text": f"Keynote note benchtoken-ma-{i}", "hashtags": [SLUG]})
        posts.append({"id": f"bs-{i}", "at": t + 0.5, "platform": "bluesky", "author": "sky",
                      "text": f"From the hall benchtoken-bs-{i}", "hashtags": [SLUG]})
        if i % 2 == 0:
            posts.append({"id": f"mb-{i}", "at": t + 0.25, "platform": "mastodon", "author": "bo",
                          "text": f"Polled note benchtoken-mb-{i}", "hashtags": [SLUG]})
    return {
        "name": "Streaming bench", "hashtags": [SLUG],
        "instances": [{"name": "a"}, {"name": "b"}],
        "people": [{"key": "ann", "name": "Ann", "mastodon_instance": "a"},
                   {"key": "bo", "name": "Bo", "mastodon_instance": "b"},
                   {"key": "sky", "name": "Sky", "handle": "skyreporter"}],
        "posts": posts,
    }


def config(sandbox: str, db: str, start: str) -> str:
    ws = sandbox.replace("http://", "ws://") + "/jetstream"
    return f"""
[server]
database_url = "sqlite:///{db}"

[server.allow_private_fetch]
hosts = ["127.0.0.1"]
any_port = true

[[events]]
slug = "{SLUG}"
title = "Streaming bench"
timezone = "UTC"
start = {start}
end = 2099-01-01T00:00:00
hashtags = ["{SLUG}"]

[events.moderation]
mode = "post"
use_profanity_list = false

[[events.sources]]
kind = "mastodon"
name = "streamed-mastodon"
api_base = "{sandbox}/mastodon/a"
streaming = true

[[events.sources]]
kind = "bluesky"
name = "streamed-bluesky"
api_base = "{sandbox}/bluesky"
streaming = true
stream_url = "{ws}"
credentials = {{ identifier = "SKY_HANDLE", app_password = "SKY_PASSWORD" }}

[[events.sources]]
kind = "mastodon"
name = "polled-mastodon"
api_base = "{sandbox}/mastodon/b"
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    if not values:
        return "none arrived"
    return (f"n={len(values)} median {statistics.median(values) * 1000:.0f} ms, p95 {pct(values, 0.95) * 1000:.0f} ms,"
            f" max {max(values) * 1000:.0f} ms")


class Wall:
    """An open wall: reads /e/<slug>/live and notes when each card arrives or is retracted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrived: dict[str, float] = {}  # token -> wall clock
        self.post_ids: dict[str, int] = {}
        self.retracted: dict[int, float] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client, client.stream("GET", self.url) as resp:
            for line in resp.iter_lines():
                if self._stop.is_set():
                    return
                if not line.startswith("data:"):
                    continue
                now = time.time()
                msg = json.loads(line[5:])
                if msg.get("kind") == "post.retracted":
                    self.retracted.setdefault(int(msg["post_id"]), now)
                    continue
                m = TOKEN.search(msg.get("html", ""))
                if m and msg.get("kind") == "post.approved":
                    key = f"{m.group(1)}-{m.group(2)}"
                    self.arrived.setdefault(key, now)
                    self.post_ids[key] = int(msg["post_id"])

    def stop(self) -> None:
        self._stop.set()


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=120, help="seconds of posting (default 120)")
    parser.add_argument("--firehose", type=float, default=600, help="unrelated Jetstream posts per second")
    parser.add_argument("--deletions", type=int, default=10, help="streamed posts deleted afterwards")
    args = parser.parse_args()
    py = sys.executable
    lead = 20.0  # seconds for the server to start and the streams to connect before the first post
    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp, "scenario.json")
        scen.write_text(json.dumps(scenario(args.seconds, lead)))
        sb_port, web_port = free_port(), free_port()
        sandbox = f"http://127.0.0.1:{sb_port}"
        env = {**os.environ, "SKY_HANDLE": "reporter.bsky.social", "SKY_PASSWORD": "sandbox-app-password"}
        procs: list[subprocess.Popen[bytes]] = []
        try:
            procs.append(subprocess.Popen([py, "-m", "aggregator.sandbox", "--port", str(sb_port), "--scenario",
                                           str(scen)], stdout=subprocess.DEVNULL))
            wait_http(sandbox + "/_control/status")
            httpx.post(sandbox + "/_control/firehose", json={"rate": args.firehose})
            status = httpx.get(sandbox + "/_control/status").json()
            anchor = datetime.fromisoformat(status["anchor"].replace("Z", "+00:00")).timestamp()
            cfg = Path(tmp, "bench.toml")
            cfg.write_text(config(sandbox, str(Path(tmp, "bench.db")), status["anchor"][:19]))
            subprocess.run([py, "-m", "aggregator.cli", "migrate", "--config", str(cfg)], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            procs.append(subprocess.Popen([py, "-m", "aggregator.cli", "serve", "--config", str(cfg), "--port",
                                           str(web_port)], env=env, stdout=subprocess.DEVNULL))
            web = f"http://127.0.0.1:{web_port}"
            wait_http(f"{web}/e/{SLUG}/")
            wall = Wall(f"{web}/e/{SLUG}/live")
            wall.thread.start()
            sent0, t0 = httpx.get(sandbox + "/_control/firehose", timeout=5).json(), time.monotonic()
            load = [os.getloadavg()[0]]
            end = anchor + lead + args.seconds + 65  # the last polled post needs up to one interval
            while time.time() < end:
                time.sleep(5)
                load.append(os.getloadavg()[0])
            sent1, t1 = httpx.post(sandbox + "/_control/firehose", json={}).json(), time.monotonic()
            # Streamed deletions: one a second, alternating platforms.
            deleted: dict[str, float] = {}
            for i in range(args.deletions):
                key = f"ma-{i}" if i % 2 == 0 else f"bs-{i}"
                deleted[key] = time.time()
                httpx.post(f"{sandbox}/_control/delete/{key}")
                time.sleep(1)
            time.sleep(5)
            wall.stop()
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait(20)
    posts = {p["id"]: p for p in scenario(args.seconds, lead)["posts"]}
    lat: dict[str, list[float]] = {"ma": [], "bs": [], "mb": []}
    for key, p in posts.items():
        if key in wall.arrived:
            lat[key.split("-")[0]].append(wall.arrived[key] - (anchor + p["at"]))
    missing = {k: sum(1 for key in posts if key.startswith(k) and key not in wall.arrived) for k in lat}
    retract = [wall.retracted[wall.post_ids[k]] - t for k, t in deleted.items()
               if k in wall.post_ids and wall.post_ids[k] in wall.retracted]
    rate = (sent1.get("sent", 0) - sent0.get("sent", 0)) / max(0.001, t1 - t0)
    print(f"machine: {os.cpu_count()} cores, load average during the run {min(load):.2f}-{max(load):.2f}")
    print(f"jetstream frames sent: {rate:.0f}/s (firehose set to {args.firehose:.0f}/s, plus the scenario's)")
    print(f"streamed Mastodon -> wall: {summary(lat['ma'])}; missing {missing['ma']}")
    print(f"Jetstream (Bluesky) -> wall: {summary(lat['bs'])}; missing {missing['bs']}")
    print(f"baseline, polled Mastodon (60 s interval) -> wall: {summary(lat['mb'])}; missing {missing['mb']}")
    print(f"streamed deletion -> card retracted: {summary(retract)} of {len(deleted)}")


if __name__ == "__main__":
    main()
