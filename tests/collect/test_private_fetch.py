"""No collector or media fetch reaches a loopback or private address unless the config allows it.

The attack: Mastodon statuses and feed entries whose photo URLs point at a
loopback listener, the cloud metadata address, RFC 1918 and unique-local
addresses, the local PostgreSQL and Redis ports, and a name that resolves to
loopback; and configured feed URLs on private addresses. The real collection
path runs (collectors -> ingest with thumbnail fetching -> storage). The
collectors' own server is allowed by name, as an organiser would allow an
intranet feed; everything else must be refused before any connection.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.runtime import build_collection
from aggregator.scheduler import collect_once
from aggregator.sources import destination
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from tests.collect.helpers import loaded, post_count
from tests.sources.server import LocalServer, Reply

NOW = datetime(2014, 4, 23, 10, 0, tzinfo=UTC)
TAG_PATH = "/api/v1/timelines/tag/coprodscot"


class Listener:
    """A bare TCP listener; counts connections that reached it (accepted or still queued)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self.sock.getsockname()[1])

    def connections(self) -> int:
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.sock.close()


def hostile_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/photo.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/photo.jpg",
        f"http://photos.rebind.test:{port}/photo.jpg",  # resolves to 127.0.0.1 (fake DNS below)
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/photo.jpg",
        "http://192.168.1.20/photo.jpg",
        "http://[fd00::1]/photo.jpg",
        "http://100.64.0.7/photo.jpg",
        "http://127.0.0.1:5432/photo.jpg",  # the local PostgreSQL
        "http://127.0.0.1:6379/photo.jpg",  # the local Redis
    ]


def status(n: int, photo: str) -> dict[str, Any]:
    return {
        "id": str(112500000000000000 + n),
        "created_at": "2014-04-23T09:30:00.000Z",
        "uri": f"https://social.example/users/u{n}/statuses/{n}",
        "url": f"https://social.example/@u{n}/{n}",
        "content": f"<p>Hostile photo number {n} #coprodscot <a href=\"{photo}\">{photo}</a></p>",
        "account": {"id": str(n), "username": f"u{n}", "acct": f"u{n}",
                    "display_name": f"U{n}", "url": f"https://social.example/@u{n}"},
        "tags": [{"name": "coprodscot"}],
        "media_attachments": [{"type": "image", "url": photo, "preview_url": photo}],
    }


def feed(photos: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Entry {i}</title><link>https://blog.example/{i}</link>"
        f"<guid>https://blog.example/{i}</guid><pubDate>Wed, 23 Apr 2014 09:20:00 GMT</pubDate>"
        f"<description>Hostile entry {i} #coprodscot</description>"
        f"<enclosure url=\"{url}\" type=\"image/jpeg\" length=\"1\"/>"
        f"<media:thumbnail url=\"{url}\"/></item>"
        for i, url in enumerate(photos)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Blog</title><link>https://blog.example/</link>{items}</channel></rss>"
    ).encode()


def settings(db_url: str, port: int) -> Settings:
    base = f"http://localhost:{port}"
    return Settings.model_validate({
        "server": {"database_url": db_url,
                   # Only the collectors' own (loopback) server, by name: what an intranet feed would need.
                   "allow_private_fetch": {"hosts": ["localhost"], "any_port": True}},
        "events": [{
            "slug": "hostile", "title": "Hostile", "timezone": "UTC",
            "start": datetime(2014, 4, 23, 9, 0), "end": datetime(2014, 4, 23, 17, 0),
            "hashtags": ["coprodscot"],
            "moderation": {"mode": "post"},
            "sources": [
                {"kind": "mastodon", "name": "masto", "api_base": base, "params": {"timeout": 5}},
                {"kind": "feed", "name": "blog", "params": {"url": f"{base}/feed.xml", "timeout": 5}},
                {"kind": "feed", "name": "intranet", "params": {"url": "http://10.0.0.1/feed.xml"}},
                {"kind": "feed", "name": "metadata", "params": {"url": "http://169.254.169.254/latest/"}},
                {"kind": "feed", "name": "redis", "params": {"url": "http://127.0.0.1:6379/"}},
            ],
        }],
    })


def test_no_collector_or_media_fetch_reaches_a_private_address(
    db_url: str, listener: Listener, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_resolve = destination.resolve_addresses

    def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.IPv4Address("127.0.0.1")] if host == "photos.rebind.test" else real_resolve(host, port)

    monkeypatch.setattr(destination, "resolve_addresses", resolve)
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def spy(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    caplog.set_level(logging.WARNING, logger="aggregator.http")

    urls = hostile_urls(listener.port)
    with LocalServer() as server:
        port = int(server.url.rsplit(":", 1)[1])
        server.routes[TAG_PATH] = Reply.json(json.dumps([status(n, u) for n, u in enumerate(urls)][::-1]))
        server.routes["/feed.xml"] = Reply(200, feed(urls), {"Content-Type": "application/rss+xml"})
        cfg = loaded(settings(db_url, port))
        storage = Storage(cfg.database_url, clock=FakeClock(NOW))
        try:
            upgrade(storage.engine)
            storage.sync_config(cfg.settings)
            collection = build_collection(cfg, storage, FakeClock(NOW))
            try:
                outcomes = {o.job.source.name: o for o in collect_once(collection.runners)}
            finally:
                collection.close()
            stored = post_count(storage)
        finally:
            storage.close()

    # Nothing reached the listener, and no socket was even pointed at anything but the allowed server.
    assert listener.connections() == 0
    assert attempts and all(a[1] == port for a in attempts), attempts
    # Every hostile photo URL was refused by the policy (both posts that carry it), and logged.
    refused = "\n".join(r.getMessage() for r in caplog.records if "fetch.refused" in r.getMessage())
    for url in urls:
        assert f"({url})" in refused, url
    # The healthy sources stored every post; only the fetches failed, not the sources.
    assert outcomes["masto"].ok and outcomes["blog"].ok
    assert stored == 2 * len(urls)
    # Configured private destinations fail their source with a message that says why and what to change.
    assert not outcomes["intranet"].ok
    assert outcomes["intranet"].error.startswith(
        "refused: 10.0.0.1 is a private address; allow it with server.allow_private_fetch"
    )
    assert "169.254.169.254 is a link-local address" in outcomes["metadata"].error
    assert "127.0.0.1 is a loopback address" in outcomes["redis"].error
