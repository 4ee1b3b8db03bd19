"""The bounded HTTP client against a misbehaving loopback server."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.sources.base import AuthError, RateLimited, SourceError
from aggregator.sources.destination import LOOPBACK
from aggregator.sources.http import MB, BoundedAdapter, HttpClient, HttpLimits, rate_limit_reset
from tests.sources.conftest import NOW, UA
from tests.sources.server import LocalServer, Reply

FAST = HttpLimits(connect_timeout=1.0, read_timeout=1.0, deadline=1.0, max_bytes=10 * MB)


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(UA, limits=FAST, clock=FakeClock(NOW), policy=LOOPBACK) as c:
        yield c


def test_get_sends_user_agent_and_conditional_headers(server: LocalServer, client: HttpClient) -> None:
    server.routes["/feed"] = Reply(200, b"ok", {"ETag": '"v2"', "Last-Modified": "Thu, 14 May 2026 10:00:00 GMT"})
    resp = client.get(server.url + "/feed", etag='"v1"', last_modified="Wed, 13 May 2026 10:00:00 GMT")
    assert resp.body == b"ok"
    assert resp.etag == '"v2"'
    assert resp.last_modified == "Thu, 14 May 2026 10:00:00 GMT"
    seen = server.seen[0]
    assert seen.headers["User-Agent"] == UA
    assert seen.headers["If-None-Match"] == '"v1"'
    assert seen.headers["If-Modified-Since"] == "Wed, 13 May 2026 10:00:00 GMT"


def test_304_is_not_an_error(server: LocalServer, client: HttpClient) -> None:
    server.routes["/feed"] = Reply(304)
    assert client.get(server.url + "/feed", etag='"v1"').not_modified


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-reset": str(int((NOW + timedelta(minutes=15)).timestamp()))}, NOW + timedelta(minutes=15)),
        ({"X-RateLimit-Reset": "2026-05-14T12:05:00.000Z"}, NOW + timedelta(minutes=5)),
        ({"ratelimit-reset": str(int((NOW + timedelta(seconds=90)).timestamp()))}, NOW + timedelta(seconds=90)),
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Thu, 14 May 2026 12:03:00 GMT"}, NOW + timedelta(minutes=3)),
        ({}, NOW + timedelta(seconds=60)),
    ],
    ids=["x-epoch", "mastodon-iso", "bluesky-epoch", "retry-after-seconds", "retry-after-date", "none"],
)
def test_429_becomes_rate_limited_with_reset(
    server: LocalServer, client: HttpClient, headers: dict[str, str], expected: datetime
) -> None:
    server.routes["/api"] = Reply.json('{"error":"RateLimitExceeded"}', 429, headers)
    with pytest.raises(RateLimited) as info:
        client.get(server.url + "/api")
    assert info.value.reset_at == expected
    assert info.value.reset_at.tzinfo is not None


def test_rate_limit_reset_is_bounded() -> None:
    assert rate_limit_reset({"Retry-After": "-5"}, NOW) == NOW + timedelta(seconds=60)
    assert rate_limit_reset({"x-rate-limit-reset": "1000000001"}, NOW) == NOW  # in the past
    assert rate_limit_reset({"Retry-After": "99999999"}, NOW) == NOW + timedelta(days=1)
    assert rate_limit_reset({"ratelimit-reset": "garbage"}, NOW) == NOW + timedelta(seconds=60)
    later = NOW + timedelta(minutes=10)
    both = {"Retry-After": "60", "X-RateLimit-Reset": later.isoformat()}
    assert rate_limit_reset(both, NOW) == later


def test_500_is_a_source_error_naming_the_url(server: LocalServer, client: HttpClient) -> None:
    server.routes["/api"] = Reply(500, b"boom")
    with pytest.raises(SourceError, match=r"HTTP 500 from http://127\.0\.0\.1:\d+/api") as info:
        client.get(server.url + "/api")
    assert not isinstance(info.value, RateLimited)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses(server: LocalServer, client: HttpClient, status: int) -> None:
    server.routes["/api"] = Reply(status)
    with pytest.raises(AuthError, match=f"HTTP {status}"):
        client.get(server.url + "/api")


def test_malformed_json(server: LocalServer, client: HttpClient) -> None:
    server.routes["/api"] = Reply.json('{"posts": [1, 2,')
    resp = client.get(server.url + "/api")
    with pytest.raises(SourceError, match="malformed JSON"):
        resp.json()


def test_stall_before_headers_ends_within_deadline(server: LocalServer, client: HttpClient) -> None:
    server.routes["/slow"] = Reply(200, b"late", delay=5)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 1 s"):
        client.get(server.url + "/slow")
    assert time.monotonic() - started < 1.8


def test_trickled_body_ends_within_deadline(server: LocalServer, client: HttpClient) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x"

    server.routes["/trickle"] = Reply(200, trickle, chunk_delay=0.1)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 1 s"):
        client.get(server.url + "/trickle")
    assert time.monotonic() - started < 1.8


def _fifty_mb() -> Iterator[bytes]:
    block = b"x" * MB
    for _ in range(50):
        yield block


def test_huge_streamed_body_aborts_at_cap_without_holding_it(server: LocalServer) -> None:
    server.routes["/big"] = Reply(200, _fifty_mb)  # no Content-Length: only streaming can catch it
    limits = HttpLimits(connect_timeout=2, read_timeout=5, deadline=10, max_bytes=10 * MB)
    with HttpClient(UA, limits=limits, policy=LOOPBACK) as client:
        tracemalloc.start()
        try:
            with pytest.raises(SourceError, match=r"response over 10 MB"):
                client.get(server.url + "/big")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 25 * MB


def test_declared_oversize_body_is_refused_before_reading(server: LocalServer) -> None:
    server.routes["/big"] = Reply(200, b"x" * (2 * MB))
    with (
        HttpClient(UA, limits=HttpLimits(max_bytes=MB), policy=LOOPBACK) as client,
        pytest.raises(SourceError, match=r"response over 1 MB"),
    ):
        client.get(server.url + "/big")


def test_get_bytes_has_its_own_cap(server: LocalServer, client: HttpClient) -> None:
    server.routes["/thumb.jpg"] = Reply(200, b"\xff\xd8" + b"\0" * 5000, {"Content-Type": "image/jpeg"})
    assert len(client.get_bytes(server.url + "/thumb.jpg")) == 5002
    with pytest.raises(SourceError, match="response over 4096 bytes"):
        client.get_bytes(server.url + "/thumb.jpg", max_bytes=4096)


def test_connection_refused_is_a_source_error(client: HttpClient) -> None:
    with LocalServer() as srv:
        url = srv.url
    with pytest.raises(SourceError, match="cannot connect"):
        client.get(url + "/gone")


def test_redirect_loop_is_bounded(server: LocalServer, client: HttpClient) -> None:
    server.routes["/loop"] = Reply(302, b"", {"Location": "/loop"})
    with pytest.raises(SourceError, match="too many redirects"):
        client.get(server.url + "/loop")


def test_adapter_rewrites_a_fixed_origin_and_caps_foreign_sessions(server: LocalServer) -> None:
    server.routes["/2/thing"] = Reply.json('{"ok": true}')
    session = requests.Session()
    try:
        session.mount(
            "https://api.example.com",
            BoundedAdapter(FAST, rewrite_from="https://api.example.com", rewrite_to=server.url, policy=LOOPBACK),
        )
        with session.get("https://api.example.com/2/thing?x=1") as resp:
            assert resp.json() == {"ok": True}
        assert server.seen[0].path == "/2/thing"
        assert server.seen[0].arg("x") == "1"
        server.routes["/big"] = Reply(200, _fifty_mb)
        with pytest.raises(SourceError, match="response over 10 MB"):
            session.get("https://api.example.com/big")
    finally:
        session.close()


def test_clock_is_aware(client: HttpClient) -> None:
    assert client.clock().tzinfo is UTC


def test_limits_from_params() -> None:
    assert HttpLimits.from_params({}) == HttpLimits()
    limits = HttpLimits.from_params({"timeout": 3, "max_bytes": 1000})
    assert (limits.deadline, limits.read_timeout, limits.max_bytes) == (3.0, 3.0, 1000)
    with pytest.raises(SourceError, match="must be numbers"):
        HttpLimits.from_params({"timeout": "soon"})
    with pytest.raises(SourceError, match="positive"):
        HttpLimits.from_params({"max_bytes": -1})


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("120", NOW + timedelta(seconds=120)), ("Thu, 14 May 2026 12:30:00 GMT", NOW + timedelta(minutes=30))],
    ids=["seconds", "http-date"],
)
def test_503_with_retry_after_is_rate_limited_like_429(
    server: LocalServer, client: HttpClient, retry_after: str, expected: datetime
) -> None:
    server.routes["/api"] = Reply(503, b"maintenance", {"Retry-After": retry_after})
    with pytest.raises(RateLimited, match=r"HTTP 503 from http://127\.0\.0\.1:\d+/api: unavailable until") as info:
        client.get(server.url + "/api")
    assert info.value.reset_at == expected


def test_503_without_retry_after_is_a_plain_source_error(server: LocalServer, client: HttpClient) -> None:
    server.routes["/api"] = Reply(503, b"down")
    with pytest.raises(SourceError, match="HTTP 503") as info:
        client.get(server.url + "/api")
    assert not isinstance(info.value, RateLimited)
