"""X collector: tweepy routed to a loopback server, golden payloads, faults."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from aggregator.sources.base import AuthError, RateLimited, SourceError
from aggregator.sources.http import HttpLimits
from aggregator.sources.x import XCollector, build_query, parse_search
from aggregator.types import Cursor, MediaKind, PostKind, RelationKind
from tests.sources.conftest import NOW, make_ctx
from tests.sources.golden import DATA, check_golden
from tests.sources.server import LocalServer, Reply

SEARCH = "/2/tweets/search/recent"
TOKEN = {"bearer_token": "test-bearer"}


def collector(server: LocalServer, **settings: Any) -> XCollector:
    limits = HttpLimits(connect_timeout=1, read_timeout=1, deadline=1)
    return XCollector(make_ctx("x", server.url, credentials=TOKEN, **settings), limits=limits)


def test_golden_search_page(server: LocalServer) -> None:
    server.routes[SEARCH] = [
        Reply.file(DATA / "x/search_page.json", "application/json"),
        Reply.file(DATA / "x/search_page2.json", "application/json"),
    ]
    c = collector(server, exclude_words=("spam",))
    try:
        result = c.fetch(Cursor())
    finally:
        c.close()
    check_golden(result.posts, DATA / "x/search_page.expected.json")
    assert result.cursor == Cursor(position="1790000000000000007")
    assert result.requests == 2
    assert "spammer99" not in {p.author.handle for p in result.posts}  # exclude_words applied

    first, second = server.requests_to(SEARCH)
    assert first.headers["Authorization"] == "Bearer test-bearer"
    assert first.headers["User-Agent"].startswith("event-aggregator-tests")
    assert first.arg("query") == "#demo26 -spam"
    assert first.arg("max_results") == "100"
    assert first.arg("start_time") == "2026-05-14T08:00:00Z"
    assert first.arg("since_id") is None
    assert set((first.arg("tweet.fields") or "").split(",")) >= {
        "created_at",
        "entities",
        "attachments",
        "referenced_tweets",
        "lang",
        "possibly_sensitive",
    }
    assert set((first.arg("expansions") or "").split(",")) >= {"author_id", "attachments.media_keys"}
    assert first.arg("user.fields") == "name,username,profile_image_url"
    assert first.arg("media.fields") == "url,preview_image_url,type,variants,alt_text,width,height"
    assert second.arg("next_token") == "b26v89c19zqg8o3fpds2sbx3hy6hrbf"


def test_shapes_of_golden_posts() -> None:
    import json

    payload = json.loads((DATA / "x/search_page.json").read_text())
    posts = {p.external_id[-2:]: p for p in parse_search(payload, NOW)}
    keynote = posts["07"]
    assert keynote.text.startswith("Keynote by @carol_speaks on open data & civic tech")
    assert "https://slides.example.org/keynote?ref=x&lang=en" in keynote.text
    assert keynote.links == ("https://slides.example.org/keynote?ref=x&lang=en",)
    assert keynote.hashtags == ("demo26",)
    assert keynote.kind is PostKind.LINK
    assert 'href="https://x.com/carol_speaks"' in keynote.html
    assert "&amp;amp;" not in keynote.html
    rt = posts["06"]
    assert rt.repost_of is not None and rt.repost_of.author.handle == "carol_speaks"
    assert rt.relation(RelationKind.REPOST) is not None
    assert rt.text == rt.repost_of.text and "slides. <3" in rt.text
    quote = posts["05"]
    assert quote.relation(RelationKind.QUOTE).external_id == "1790000000000000001"  # type: ignore[union-attr]
    assert quote.kind is PostKind.TEXT  # the quoted tweet's own URL is not an outbound link
    assert posts["04"].relation(RelationKind.REPLY) is not None
    photos = posts["03"]
    assert [m.kind for m in photos.media] == [MediaKind.PHOTO] * 4
    assert "t.co" not in photos.text and photos.kind is PostKind.PHOTO
    video = posts["02"]
    assert video.kind is PostKind.VIDEO and video.sensitive and video.language == "ar"
    assert video.media[0].url.endswith("1280x720/opening.mp4")
    assert video.media[1].video_key == "youtube:dQw4w9WgXcQ"


def test_since_id_from_cursor_and_empty_result_keeps_cursor(server: LocalServer) -> None:
    server.routes[SEARCH] = Reply.file(DATA / "x/empty.json", "application/json")
    c = collector(server)
    try:
        result = c.fetch(Cursor(position="1790000000000000007"))
    finally:
        c.close()
    assert result.posts == ()
    assert result.cursor.position == "1790000000000000007"
    assert server.seen[0].arg("since_id") == "1790000000000000007"
    assert server.seen[0].arg("start_time") is None


def test_429_is_rate_limited_at_header_reset_without_sleeping(server: LocalServer) -> None:
    reset = NOW + timedelta(minutes=15)
    server.routes[SEARCH] = Reply.json(
        '{"title":"Too Many Requests","status":429}', 429, {"x-rate-limit-reset": str(int(reset.timestamp()))}
    )
    c = collector(server)
    started = time.monotonic()
    try:
        with pytest.raises(RateLimited) as info:
            c.fetch(Cursor())
    finally:
        c.close()
    assert info.value.reset_at == reset
    assert time.monotonic() - started < 1
    assert len(server.seen) == 1


def test_429_without_or_with_bad_header_does_not_loop(server: LocalServer) -> None:
    server.routes[SEARCH] = Reply.json('{"status":429}', 429, {"x-rate-limit-reset": "soon"})
    c = collector(server)
    try:
        with pytest.raises(RateLimited) as info:
            c.fetch(Cursor())
    finally:
        c.close()
    assert info.value.reset_at == NOW + timedelta(seconds=60)
    assert len(server.seen) == 1


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, AuthError), (500, SourceError)])
def test_error_statuses(server: LocalServer, status: int, error: type[Exception]) -> None:
    server.routes[SEARCH] = Reply.json('{"title":"x","detail":"nope"}', status)
    c = collector(server)
    try:
        with pytest.raises(error) as info:
            c.fetch(Cursor())
    finally:
        c.close()
    if status == 500:
        assert "HTTP 500 from" in str(info.value)


def test_malformed_json_and_stall(server: LocalServer) -> None:
    server.routes[SEARCH] = Reply.json("{not json")
    c = collector(server)
    try:
        with pytest.raises(SourceError, match="malformed JSON"):
            c.fetch(Cursor())
        server.routes[SEARCH] = Reply(200, b"{}", delay=5)
        started = time.monotonic()
        with pytest.raises(SourceError, match="timed out after 1 s"):
            c.fetch(Cursor())
        assert time.monotonic() - started < 1.8
    finally:
        c.close()


def test_missing_token_is_an_auth_error(server: LocalServer) -> None:
    with pytest.raises(AuthError, match="bearer token"):
        XCollector(make_ctx("x", server.url))


def test_build_query() -> None:
    assert build_query(["demo26"]) == "#demo26"
    assert build_query(["a", "b"]) == "(#a OR #b)"
    assert build_query(["a", "b"], match="all") == "(#a #b)"
    q = build_query(
        ["a", "b"],
        match="all",
        keywords=["open data", "civic"],
        accounts=["@demo_conf"],
        exclude_words=["spam", "buy now"],
        exclude_accounts=["spammer99"],
    )
    assert q == '((#a #b) OR "open data" OR civic OR from:demo_conf) -spam -"buy now" -from:spammer99'
    with pytest.raises(SourceError):
        build_query([])


def test_wrong_entity_offsets_fall_back_to_search() -> None:
    tweet = {
        "id": "1",
        "text": "hi @bob see #Tag",
        "author_id": "9",
        "created_at": "2026-05-14T09:00:00.000Z",
        "entities": {
            "mentions": [{"start": 0, "end": 2, "username": "bob"}],
            "hashtags": [{"start": 99, "end": 104, "tag": "Tag"}],
        },
    }
    (post,) = parse_search({"data": [tweet]}, NOW)
    assert post.html == (
        '<p>hi <a href="https://x.com/bob" rel="nofollow noopener noreferrer ugc">@bob</a> see '
        '<a href="https://x.com/hashtag/Tag" rel="nofollow noopener noreferrer ugc">#Tag</a></p>'
    )


def test_future_created_at_is_clamped() -> None:
    tweet = {"id": "1", "text": "from the future", "author_id": "9", "created_at": "2099-01-01T00:00:00.000Z"}
    (post,) = parse_search({"data": [tweet]}, NOW)
    assert post.created_at == NOW


def test_503_with_retry_after_is_rate_limited(server: LocalServer) -> None:
    server.routes[SEARCH] = Reply.json('{"title":"Service Unavailable","status":503}', 503, {"Retry-After": "300"})
    c = collector(server)
    try:
        with pytest.raises(RateLimited, match="HTTP 503") as info:
            c.fetch(Cursor())
    finally:
        c.close()
    assert info.value.reset_at == NOW + timedelta(seconds=300)
    assert len(server.seen) == 1


def test_a_redirect_off_the_api_origin_is_checked_too(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the API host is allowed; it redirects to a loopback listener that nothing allows.
    import dataclasses
    import ipaddress
    import socket

    from aggregator.sources import destination
    from aggregator.sources.destination import DestinationRefused, FetchPolicy

    real = destination.resolve_addresses
    monkeypatch.setattr(destination, "resolve_addresses", lambda host, port: (
        [ipaddress.IPv4Address("127.0.0.1")] if host == "x.allowed" else real(host, port)))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server.routes[SEARCH] = Reply(302, b"", {"Location": f"http://127.0.0.1:{port}/steal"})
    base = "http://x.allowed:" + server.url.rsplit(":", 1)[1]
    ctx = dataclasses.replace(make_ctx("x", base, credentials=TOKEN),
                              fetch_policy=FetchPolicy.allowing(["x.allowed"], any_port=True))
    c = XCollector(ctx, limits=HttpLimits(connect_timeout=1, read_timeout=1, deadline=1))
    try:
        with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1 is a loopback address"):
            c.fetch(Cursor())
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    finally:
        c.close()
        listener.close()
    assert len(server.seen) == 1


def test_video_without_variants_keeps_preview_as_poster_only() -> None:
    payload = {
        "data": [{
            "id": "1790000000000000001", "text": "Keynote clip", "author_id": "9",
            "created_at": "2026-05-14T09:00:00.000Z", "attachments": {"media_keys": ["7_1"]},
        }],
        "includes": {
            "users": [{"id": "9", "username": "carol", "name": "Carol"}],
            "media": [{"media_key": "7_1", "type": "video",
                       "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/p.jpg"}],
        },
    }
    (post,) = parse_search(payload, NOW)
    (video,) = post.media
    assert video.kind is MediaKind.VIDEO
    assert video.thumbnail_url == "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/p.jpg"
    assert video.url == "https://x.com/carol/status/1790000000000000001"  # plays on X, not a still


def test_tweets_without_an_author_are_skipped_and_counted() -> None:
    from aggregator.sources.x import parse_search_counted

    payload = {"data": [
        {"id": "1", "text": "orphan", "created_at": "2026-05-14T09:00:00.000Z"},
        {"id": "2", "text": "kept", "author_id": "9", "created_at": "2026-05-14T09:00:00.000Z"},
    ], "includes": {"users": [{"id": "9", "username": "carol", "name": "Carol"}]}}
    posts, authorless = parse_search_counted(payload, NOW)
    assert [p.external_id for p in posts] == ["2"] and authorless == 1
