"""Faults: each platform's own error style, stalls, slow, huge, broken and hostile bodies."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from io import BytesIO

import feedparser
import pytest
import requests

from aggregator.sandbox import Fault, Sandbox
from tests.corpora import XML_ATTACKS
from tests.waiting import wait_until

from .conftest import X_TOKEN

CORPORA = XML_ATTACKS
X_AUTH = {"Authorization": f"Bearer {X_TOKEN}"}


def x_search(sb: Sandbox, http: requests.Session, **kw: object) -> requests.Response:
    return http.get(sb.url("x") + "/2/tweets/search/recent", params={"query": "#copro14"}, headers=X_AUTH,
                    timeout=5, **kw)  # type: ignore[arg-type]


def test_429_x_style(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("x", Fault("status", status=429, seconds=900, times=1))
    r = x_search(sandbox, http)
    assert r.status_code == 429 and r.json()["status"] == 429
    assert int(r.headers["x-rate-limit-reset"]) == int(sandbox.world.now().timestamp()) + 900
    assert r.headers["x-rate-limit-remaining"] == "0"
    assert x_search(sandbox, http).status_code == 200  # one-shot


def test_429_mastodon_style(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("mastodon", Fault("status", status=429, seconds=60))
    r = http.get(sandbox.url("mastodon/b") + "/api/v1/timelines/tag/copro14", timeout=5)
    assert r.status_code == 429 and r.json() == {"error": "Too many requests"}
    reset = datetime.fromisoformat(r.headers["X-RateLimit-Reset"])
    assert (reset - sandbox.world.now()).total_seconds() == 60
    assert http.get(sandbox.url("mastodon/a") + "/api/v1/timelines/tag/copro14", timeout=5).status_code == 429


def test_longest_prefix_wins(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("mastodon", Fault("status", status=503))
    sandbox.set_fault("mastodon/b", Fault("status", status=500))
    assert http.get(sandbox.url("mastodon/a") + "/api/v1/timelines/tag/x", timeout=5).status_code == 503
    assert http.get(sandbox.url("mastodon/b") + "/api/v1/timelines/tag/x", timeout=5).status_code == 500
    sandbox.clear_faults("mastodon/b")
    assert http.get(sandbox.url("mastodon/b") + "/api/v1/timelines/tag/x", timeout=5).status_code == 503
    sandbox.clear_faults()
    assert http.get(sandbox.url("mastodon/b") + "/api/v1/timelines/tag/x", timeout=5).status_code == 200


def test_429_bluesky_style_and_match(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("bluesky", Fault("status", status=429, seconds=300, match="searchPosts"))
    r = http.post(sandbox.url("bluesky") + "/xrpc/com.atproto.server.createSession",
                  json={"identifier": "reporter.bsky.social", "password": "sandbox-app-password"}, timeout=5)
    assert r.status_code == 200  # the fault only matches searchPosts
    token = r.json()["accessJwt"]
    r = http.get(sandbox.url("bluesky") + "/xrpc/app.bsky.feed.searchPosts", params={"q": "x"},
                 headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 429 and r.json()["error"] == "RateLimitExceeded"
    assert int(r.headers["ratelimit-reset"]) == int(sandbox.world.now().timestamp()) + 300


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(sandbox: Sandbox, http: requests.Session, status: int) -> None:
    sandbox.set_fault("feed", Fault("status", status=status, times=2))
    for _ in range(2):
        r = http.get(sandbox.url("feed") + "/blog.atom", timeout=5)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert http.get(sandbox.url("feed") + "/blog.atom", timeout=5).status_code == 200
    assert [r.fault for r in sandbox.requests("feed")] == ["status", "status", None]


def test_stall_then_answer(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("x", Fault("stall", seconds=0.3, times=1))
    t0 = time.monotonic()
    assert x_search(sandbox, http).status_code == 200
    assert time.monotonic() - t0 >= 0.3


def test_stall_times_out_the_client_and_stop_interrupts_it(sandbox: Sandbox) -> None:
    sandbox.set_fault("x", Fault("stall", seconds=60))
    with requests.Session() as s, pytest.raises(requests.exceptions.ReadTimeout):
        s.get(sandbox.url("x") + "/2/tweets/search/recent", params={"query": "a"}, headers=X_AUTH, timeout=0.2)
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            with requests.Session() as s:
                s.get(sandbox.url("x") + "/2/tweets/search/recent", params={"query": "a"}, headers=X_AUTH,
                      timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    before = sandbox.open_connections()  # the timed-out request above is still stalled
    t = threading.Thread(target=stalled)
    t.start()
    wait_until(lambda: sandbox.open_connections() > before, what="the second request to stall")
    t0 = time.monotonic()
    sandbox.stop()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - t0 < 5


def test_trickle(sandbox: Sandbox, http: requests.Session) -> None:
    normal = http.get(sandbox.url("feed") + "/blog.rss", timeout=5).content
    sandbox.set_fault("feed", Fault("trickle", seconds=0.3, chunk=len(normal) // 5 + 1))
    t0 = time.monotonic()
    r = http.get(sandbox.url("feed") + "/blog.rss", timeout=5)
    assert r.content == normal and time.monotonic() - t0 >= 0.2


def test_huge_body_is_streamed(sandbox: Sandbox, http: requests.Session) -> None:
    size = 20_000_000
    sandbox.set_fault("mastodon", Fault("huge", size=size))
    with http.get(sandbox.url("mastodon/a") + "/api/v1/timelines/tag/x", stream=True, timeout=5) as r:
        assert int(r.headers["Content-Length"]) == size
        total = 0
        head = b""
        for chunk in r.iter_content(1 << 20):
            head = head or chunk[:9]
            total += len(chunk)
    assert total == size and head == b'{"data":"'


def test_huge_body_client_can_give_up(sandbox: Sandbox) -> None:
    sandbox.set_fault("flickr", Fault("huge", size=50_000_000))
    with requests.Session() as s, s.get(sandbox.url("flickr") + "/services/feeds/photos_public.gne",
                                        stream=True, timeout=5) as r:
        first = next(r.iter_content(65536))
        assert first.startswith(b"<?xml")
    # the server shrugs off the dropped connection and keeps serving
    with requests.Session() as s:
        sandbox.clear_faults()
        assert s.get(sandbox.url("flickr") + "/services/feeds/photos_public.gne", timeout=5).status_code == 200


def test_malformed_json(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("x", Fault("malformed"))
    r = x_search(sandbox, http)
    assert r.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()


def test_truncated_transfer_and_cut_document(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("mastodon", Fault("truncated", times=1))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.get(sandbox.url("mastodon/a") + "/api/v1/timelines/tag/copro14", timeout=5)
    sandbox.set_fault("flickr", Fault("truncated", honest_length=True, fraction=0.6, times=1))
    with requests.Session() as s:
        r = s.get(sandbox.url("flickr") + "/services/feeds/photos_public.gne?tags=copro14", timeout=5)
    assert r.status_code == 200
    parsed = feedparser.parse(BytesIO(r.content), response_headers={"content-type": r.headers["content-type"]})
    assert parsed.bozo


def test_html_instead_of_feed(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_fault("youtube", Fault("html"))
    r = http.get(sandbox.url("youtube") + "/feeds/videos.xml?channel_id=UCjointImprovementTeam01", timeout=5)
    assert r.headers["content-type"].startswith("text/html")
    parsed = feedparser.parse(BytesIO(r.content), response_headers={"content-type": r.headers["content-type"]})
    assert parsed.version == "" and not parsed.entries


@pytest.mark.parametrize("name", ["xmlbomb.xml", "external.xml", "quadratic.xml"])
def test_serve_file(sandbox: Sandbox, http: requests.Session, name: str) -> None:
    path = CORPORA / name
    sandbox.set_fault("feed", Fault("file", path=str(path)))
    r = http.get(sandbox.url("feed") + "/blog.atom", timeout=5)
    assert r.content == path.read_bytes() and r.headers["content-type"] == "application/xml"


def test_control_endpoints(sandbox: Sandbox, http: requests.Session) -> None:
    ctl = sandbox.base_url + "/_control"
    r = http.post(ctl + "/faults/x", json={"kind": "status", "status": 503, "times": 1}, timeout=5)
    assert r.status_code == 200 and r.json()["faults"]["x"]["remaining"] == 1
    assert x_search(sandbox, http).status_code == 503
    assert x_search(sandbox, http).status_code == 200
    assert http.post(ctl + "/faults/x", json={"kind": "bogus"}, timeout=5).status_code == 400
    http.post(ctl + "/faults/feed", json={"kind": "html"}, timeout=5)
    assert http.delete(ctl + "/faults", timeout=5).json() == {"faults": {}}
    status = http.get(ctl + "/status", timeout=5).json()
    assert status["requests"]["x"] == 2 and status["fast"] is True and status["total"] > 30
    assert http.post(ctl + "/delete/x-welcome", timeout=5).json() == {"deleted": "x-welcome"}
    assert "x-welcome" in http.get(ctl + "/status", timeout=5).json()["deleted"]
    assert http.post(ctl + "/delete/nope", timeout=5).status_code == 404
    assert http.get(ctl + "/ids/x-welcome", timeout=5).json()["id"] == sandbox.ids("x-welcome")["id"]
    log = http.get(ctl + "/requests", params={"prefix": "x"}, timeout=5).json()
    assert [row["status"] for row in log] == [503, 200]
