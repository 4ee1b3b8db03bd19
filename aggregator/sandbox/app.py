"""The sandbox: one loopback HTTP server that routes by path prefix to each platform's fake.

    /x/...           X API v2             /mastodon/<instance>/...   Mastodon
    /bluesky/xrpc/.. Bluesky (PDS)        /flickr/services/feeds/..  Flickr feeds
    /youtube/feeds/videos.xml             /feed/<name>.atom|.rss     blog feeds
    /media/...       generated pictures   /_control/...              test and demo control (JSON)
    /jetstream/subscribe  Bluesky Jetstream (WebSocket)   /mastodon/<inst>/api/v1/streaming/hashtag  SSE
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from aggregator.clock import Clock, system_clock
from aggregator.sandbox import faults as faults_mod
from aggregator.sandbox import ids, images
from aggregator.sandbox.bluesky import BlueskyApi
from aggregator.sandbox.faults import Fault, FaultTable
from aggregator.sandbox.feeds import BlogFeed, FlickrFeed, YouTubeFeed
from aggregator.sandbox.http import Request, Response, SandboxHTTPServer, _host_port, json_response
from aggregator.sandbox.mastodon import MastodonApi
from aggregator.sandbox.scenario import Scenario, default_scenario
from aggregator.sandbox.scenarios import resolve_scenario
from aggregator.sandbox.streams import Jetstream, MastodonStreaming
from aggregator.sandbox.world import World, iso_ms
from aggregator.sandbox.x import XApi

PREFIXES = ("x", "mastodon", "bluesky", "jetstream", "flickr", "youtube", "feed", "media")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the sandbox answered (for tests: "did the collector send since_id?")."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    at: datetime  # scenario clock time
    fault: str | None  # kind of the fault applied, if any

    @property
    def prefix(self) -> str:
        return self.path.split("/")[1] if self.path.count("/") >= 1 else ""

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class SandboxApp:
    """Routing, faults and the request log; callable as the server's app."""

    def __init__(self, world: World, stopping: threading.Event) -> None:
        self.world = world
        self.stopping = stopping
        self.faults = FaultTable()
        self.x = XApi(world)
        self.mastodon = MastodonApi(world)
        self.bluesky = BlueskyApi(world)
        self.mastodon.streaming = MastodonStreaming(self.mastodon, stopping)
        self.jetstream = Jetstream(self.bluesky, stopping)
        self.flickr = FlickrFeed(world)
        self.youtube = YouTubeFeed(world)
        self.blog = BlogFeed(world)
        self._log_lock = threading.Lock()
        self.log: list[RequestRecord] = []

    def __call__(self, req: Request) -> Response:
        first = req.path.split("/")[1] if req.path.startswith("/") and len(req.path) > 1 else ""
        if first == "_control":
            return self.control(req)
        handler = {
            "x": self.x.handle, "mastodon": self.mastodon.handle, "bluesky": self.bluesky.handle,
            "jetstream": self.jetstream.handle,
            "flickr": self.flickr.handle, "youtube": self.youtube.handle, "feed": self.blog.handle,
            "media": self.media,
        }.get(first)
        fault = self.faults.take(req.path) if handler is not None else None
        if handler is None:
            resp = json_response({"error": "not found", "prefixes": list(PREFIXES)}, 404)
        else:
            sub = req.path[len(first) + 1 :]

            def real() -> Response:
                assert handler is not None
                return handler(req, sub)

            if fault is None:
                resp = real()
            else:
                resp = faults_mod.apply(fault, first, req, real, self.world.now(), self.stopping)
        record = RequestRecord(
            req.method, req.path, {k: list(v) for k, v in req.query.items()}, dict(req.headers.items()),
            req.body, resp.status, self.world.now(), fault.kind if fault else None,
        )
        with self._log_lock:
            self.log.append(record)
        return resp

    # ------------------------------------------------------------ media

    def media(self, req: Request, sub: str) -> Response:
        m = re.fullmatch(r"/(img|poster)/(.+)/(\d{1,4})x(\d{1,4})\.(jpg|jpeg|png)", sub)
        headers = [("Cache-Control", "public, max-age=31536000, immutable")]
        if m:
            kind, seed, w, h, ext = m.groups()
            if not (1 <= int(w) <= images.MAX_SIDE and 1 <= int(h) <= images.MAX_SIDE):
                return json_response({"error": "size out of range"}, 400)
            fmt: images.ImageFormat = "png" if ext == "png" else "jpeg"
            data = images.picture(seed, int(w), int(h), fmt, poster=kind == "poster")
            ctype = "image/png" if fmt == "png" else "image/jpeg"
            return Response(200, data, content_type=ctype, headers=[*headers, ("ETag", _etag(data))])
        m = re.fullmatch(r"/avatar/(.+)\.png", sub)
        if m:
            data = images.avatar(m.group(1))
            return Response(200, data, content_type="image/png", headers=[*headers, ("ETag", _etag(data))])
        m = re.fullmatch(r"/vi/([A-Za-z0-9_-]{1,64})/(\w+)\.jpg", sub)
        if m:
            data = images.picture(self.youtube_poster_seed(m.group(1)), 480, 360, "jpeg", poster=True)
            return Response(200, data, content_type="image/jpeg", headers=[*headers, ("ETag", _etag(data))])
        m = re.fullmatch(r"/video/(.+)/playlist\.m3u8", sub)
        if m:
            from urllib.parse import quote

            url = f"{req.base}/media/video/{quote(m.group(1), safe='')}.mp4"
            return Response(200, images.hls_playlist(url, 30.0), content_type="application/vnd.apple.mpegurl")
        m = re.fullmatch(r"/video/(.+)\.mp4", sub)
        if m:
            return Response(200, images.fake_mp4(m.group(1)), content_type="video/mp4", headers=headers)
        return Response(404, b"not found", content_type="text/plain")

    def youtube_poster_seed(self, video_id: str) -> str:
        """A YouTube thumbnail shows its video's first media seed (a scenario video), else one from the id."""
        for p in self.world.scenario.posts:
            if p.platform == "youtube" and p.media and self.youtube.video_id(p) == video_id:
                return self.world.media(p)[0].seed
        return "yt:" + video_id

    # ------------------------------------------------------------ control

    def status(self, base: str) -> dict[str, Any]:
        w = self.world
        now = w.now()
        with self._log_lock:
            counts = Counter(r.prefix for r in self.log)
        return {
            "base_url": base,
            "scenario": w.scenario.name,
            "now": iso_ms(now),
            "anchor": iso_ms(w.anchor),
            "speed": w.speed,
            "fast": w.fast,
            "elapsed": w.elapsed(),
            "total": len(w.scenario.posts),
            "released": [p.id for p in w.ordered if w.is_released(p, now)],
            "deleted": [p.id for p in w.ordered if w.is_deleted(p, now)],
            "faults": self.faults.snapshot(),
            "requests": dict(counts),
            "bluesky_sessions_created": self.bluesky.sessions_created,
        }

    def control(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p][1:]
        try:
            if parts == ["status"] and req.method == "GET":
                return json_response(self.status(req.base))
            if parts == ["requests"] and req.method == "GET":
                prefix = req.arg("prefix")
                with self._log_lock:
                    rows = [r for r in self.log if prefix is None or r.path.startswith("/" + prefix.strip("/"))]
                return json_response([
                    {"method": r.method, "path": r.path, "query": r.query, "status": r.status,
                     "at": iso_ms(r.at), "fault": r.fault} for r in rows
                ])
            if parts[:1] == ["faults"]:
                prefix = "/".join(parts[1:])
                if req.method == "DELETE" or parts[-1:] == ["clear"]:
                    if parts[-1:] == ["clear"]:
                        prefix = "/".join(parts[1:-1])
                    self.faults.clear(prefix or None)
                    return json_response({"faults": self.faults.snapshot()})
                if req.method in ("POST", "PUT"):
                    data = req.json()
                    if not isinstance(data, dict):
                        raise ValueError("send the fault as a JSON object")
                    prefix = prefix or str(data.pop("prefix", ""))
                    if not prefix:
                        raise ValueError("name the prefix: /_control/faults/<prefix>")
                    self.faults.set(prefix, Fault.from_dict(data))
                    return json_response({"faults": self.faults.snapshot()})
                return json_response({"faults": self.faults.snapshot()})
            if parts[:1] == ["delete"] and req.method == "POST":
                post_id = "/".join(parts[1:]) or str((req.json() or {}).get("id", ""))
                self.world.delete(post_id)
                return json_response({"deleted": post_id})
            if parts == ["firehose"] and req.method in ("POST", "PUT"):
                data = req.json() or {}
                self.jetstream.firehose = max(0.0, float(data.get("rate", self.jetstream.firehose)))
                if "heartbeat" in data:
                    self.mastodon.streaming.heartbeat = max(0.05, float(data["heartbeat"]))  # type: ignore[union-attr]
                return json_response({"rate": self.jetstream.firehose, "sent": self.jetstream.sent})
            if parts == ["release"] and req.method == "POST":
                return json_response({"released": self.world.release_all()})
            if parts[:1] == ["ids"] and len(parts) == 2:
                return json_response(wire_ids(self, parts[1], req.base))
        except KeyError as exc:
            return json_response({"error": f"unknown post {exc}"}, 404)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"error": "unknown control endpoint",
                              "endpoints": ["GET status", "GET requests?prefix=", "POST faults/<prefix>",
                                            "DELETE faults[/<prefix>]", "POST delete/<post id>", "POST release",
                                            "GET ids/<post id>", "POST firehose {rate, heartbeat}"]}, 404)


def _etag(data: bytes) -> str:
    return '"' + ids.digest("etag", data.hex()[:4096], str(len(data))).hex()[:16] + '"'


def wire_ids(app: SandboxApp, post_id: str, base: str) -> dict[str, Any]:
    """How a scenario post is identified on its platform (what a collector will see)."""
    w = app.world
    p = w.scenario.post(post_id)
    if p.platform == "x":
        return {"platform": "x", "id": app.x.tweet_id(p), "url": app.x.permalink(p)}
    if p.platform == "mastodon":
        m = app.mastodon
        return {"platform": "mastodon", "uri": m.uri(p, base),
                "ids": {inst: m.status_id(p, inst) for inst in m.present_on(p)}}
    if p.platform == "bluesky":
        return {"platform": "bluesky", "uri": app.bluesky.uri(p), "url": app.bluesky.web_url(p)}
    if p.platform == "flickr":
        pid = app.flickr.photo_id(p)
        return {"platform": "flickr", "id": f"tag:flickr.com,2005:/photo/{pid}", "photo_id": pid,
                "url": app.flickr.page_url(base, p)}
    if p.platform == "youtube":
        vid = app.youtube.video_id(p)
        return {"platform": "youtube", "id": f"yt:video:{vid}", "video_id": vid,
                "url": f"https://www.youtube.com/watch?v={vid}",
                "channel_id": w.youtube_channel(w.author(p))}
    return {"platform": "feed", "id": app.blog.entry_url(base, p), "url": app.blog.entry_url(base, p),
            "feed_url": f"{base}/feed/{p.feed}.atom"}


class Sandbox:
    """All platform fakes on one loopback port, in a background thread.

    with Sandbox(default_scenario(), clock=FakeClock(...), fast=True) as sb:
        requests.get(sb.base_url + "/mastodon/a/api/v1/timelines/tag/copro14")
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        speed: float = 1.0,
        fast: bool = False,
        start: datetime | None = None,
        hold_back: int = 0,
    ) -> None:
        self.scenario = scenario or default_scenario()
        self.host, self.port = host, port
        self.world = World(self.scenario, clock or system_clock, speed=speed, fast=fast, anchor=start,
                           hold_back=hold_back)
        self._stopping = threading.Event()
        self.app = SandboxApp(self.world, self._stopping)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        self._stopping.clear()
        server = SandboxHTTPServer((self.host, self.port), self.app)
        server.stopping = self._stopping
        self._server = server
        host, port = _host_port(server.server_address)
        self._base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stop()
        if thread is not None:
            thread.join(5)
        self._server = self._thread = None

    def open_connections(self) -> int:
        """Connections being served now; tests wait on it instead of sleeping."""
        return self._server.open_connections() if self._server is not None else 0

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the sandbox is not started")
        return self._base_url

    def url(self, prefix: str) -> str:
        """Base URL of one platform: url("x"), url("mastodon/a"), url("bluesky") ... (a source's api_base)."""
        return f"{self.base_url}/{prefix.strip('/')}"

    # ------------------------------------------------------------ control

    def set_fault(self, prefix: str, fault: Fault) -> None:
        self.app.faults.set(prefix, fault)

    def set_streams(self, firehose: float | None = None, heartbeat: float | None = None) -> None:
        """Jetstream's unrelated posts per second; seconds between Mastodon stream heartbeats."""
        if firehose is not None:
            self.app.jetstream.firehose = max(0.0, firehose)
        if heartbeat is not None and self.app.mastodon.streaming is not None:
            self.app.mastodon.streaming.heartbeat = max(0.05, heartbeat)

    def clear_faults(self, prefix: str | None = None) -> None:
        self.app.faults.clear(prefix)

    def delete(self, platform: str, post_id: str) -> None:
        """The author deletes a scenario post at its source, now."""
        post = self.scenario.post(post_id)
        if post.platform != platform:
            raise ValueError(f"post {post_id!r} is on {post.platform}, not {platform}")
        self.world.delete(post_id)

    def release_all(self) -> int:
        """Release every post not yet released; returns how many."""
        return self.world.release_all()

    def ids(self, post_id: str) -> dict[str, Any]:
        """The platform identifiers of a scenario post (tweet id, Mastodon uri and local ids, at:// uri ...)."""
        return wire_ids(self.app, post_id, self.base_url)

    def status(self) -> dict[str, Any]:
        return self.app.status(self.base_url)

    # ------------------------------------------------------------ request log

    def requests(self, prefix: str | None = None) -> list[RequestRecord]:
        """Requests answered so far (optionally those under /<prefix>), oldest first."""
        with self.app._log_lock:
            rows = list(self.app.log)
        if prefix is None:
            return rows
        p = "/" + prefix.strip("/")
        return [r for r in rows if r.path == p or r.path.startswith(p + "/")]

    def request_count(self, prefix: str | None = None) -> int:
        return len(self.requests(prefix))

    def clear_requests(self) -> None:
        with self.app._log_lock:
            self.app.log.clear()


def serve(
    host: str = "127.0.0.1", port: int = 8765, scenario_path: str | Path | None = None, speed: float = 1.0,
    fast: bool = False,
) -> None:
    """Run the sandbox in the foreground until SIGINT/SIGTERM; prints one `sandbox ready: URL` line.

    `scenario_path` is a scenario file or a built-in scenario name ("default", "coproduction").
    """
    scenario = resolve_scenario(scenario_path)
    sandbox = Sandbox(scenario, host=host, port=port, speed=speed, fast=fast)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        url = sandbox.start()
        sys.stdout.write(f"sandbox ready: {url}\n")
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
