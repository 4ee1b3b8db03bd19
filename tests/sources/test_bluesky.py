"""Bluesky collector: session handling, searchPosts over loopback, facets by bytes, embeds."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aggregator.pipeline.sanitise import byte_span_to_chars
from aggregator.sources.base import AuthError, RateLimited
from aggregator.sources.bluesky import BlueskyCollector, post_view_to_post
from aggregator.sources.http import HttpLimits
from aggregator.types import Cursor, MediaKind, PostKind, RelationKind
from tests.sources.conftest import NOW, make_ctx
from tests.sources.golden import DATA, check_golden
from tests.sources.server import LocalServer, Reply, Seen

LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREDS = {"identifier": "reporter.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
FAST = HttpLimits(connect_timeout=1, read_timeout=1, deadline=1)


def session_reply(n: int) -> Reply:
    return Reply.json(
        json.dumps(
            {
                "accessJwt": f"access-{n}",
                "refreshJwt": f"refresh-{n}",
                "handle": "reporter.bsky.social",
                "did": "did:plc:reporter",
            }
        )
    )


def collector(server: LocalServer, **kwargs: Any) -> BlueskyCollector:
    return BlueskyCollector(make_ctx("bluesky", server.url, credentials=CREDS, **kwargs), limits=FAST)


def test_golden_search(server: LocalServer) -> None:
    server.routes[LOGIN] = Reply.file(DATA / "bluesky/session.json", "application/json")
    server.routes[SEARCH] = [
        Reply.file(DATA / "bluesky/search.json", "application/json"),
        Reply.file(DATA / "bluesky/search_empty.json", "application/json"),
    ]
    c = collector(server)
    try:
        result = c.fetch(Cursor())
    finally:
        c.close()
    check_golden(result.posts, DATA / "bluesky/search.expected.json")
    # p7 says 2030: its sort time is its indexedAt, and the cursor never runs ahead of now.
    assert result.cursor == Cursor(position="2026-05-14T10:40:00Z")
    assert result.requests == 3

    login = server.requests_to(LOGIN)[0]
    assert json.loads(login.body) == {"identifier": "reporter.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
    first, second = server.requests_to(SEARCH)
    assert first.headers["Authorization"] == "Bearer access-1"
    assert first.query == {
        "q": ["#demo26"],
        "sort": ["latest"],
        "limit": ["100"],
        "tag": ["demo26"],
        "since": ["2026-05-14T08:00:00Z"],
    }
    assert second.arg("cursor") == "10"


def test_shapes_of_golden_posts() -> None:
    payload = json.loads((DATA / "bluesky/search.json").read_text())
    posts = {p.external_id[-1]: p for p in (post_view_to_post(v, NOW) for v in payload["posts"]) if p}
    rtl = posts["1"]
    assert rtl.url == "https://bsky.app/profile/ivy.bsky.social/post/3lbxyz0000001"
    assert rtl.language == "ar" and rtl.links == ("https://example.org/notes/demo26-day-one",)
    assert (
        '<a href="https://example.org/notes/demo26-day-one" rel="nofollow noopener noreferrer ugc">'
        "example.org/notes…</a>" in rtl.html
    )
    assert '<a href="https://bsky.app/hashtag/Demo26" rel="nofollow noopener noreferrer ugc">#Demo26</a>' in rtl.html
    assert ">@jon.example.com</a>" in rtl.html and "did:plc:jon7abcdefghijklmnopqrst" in rtl.html
    photos = posts["2"]
    assert photos.kind is PostKind.PHOTO and len(photos.media) == 4
    assert photos.media[0].alt_text == "Sticky notes on a wall" and photos.media[0].width == 2000
    video = posts["3"]
    assert video.kind is PostKind.VIDEO and video.media[0].url.endswith("playlist.m3u8")
    link = posts["4"]
    assert link.links == ("https://www.youtube.com/watch?v=aBcDeFgHiJk",)
    assert link.media[0].video_key == "youtube:aBcDeFgHiJk" and link.hashtags == ("demo26", "panel")
    quote = posts["5"]
    assert quote.relation(RelationKind.QUOTE).external_id.endswith("3lbxyz0000001")  # type: ignore[union-attr]
    rwm = posts["6"]
    assert rwm.relation(RelationKind.QUOTE) is not None and rwm.media[0].kind is MediaKind.PHOTO
    assert rwm.sensitive
    reply = posts["7"]
    assert reply.relation(RelationKind.REPLY) is not None
    assert reply.created_at == NOW  # 2030 clamped
    assert "javascript" not in reply.html


def test_session_is_reused_and_refreshed_on_expired_token(server: LocalServer) -> None:
    server.routes[LOGIN] = session_reply(1)
    server.routes[REFRESH] = session_reply(2)

    def search(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") == "Bearer access-1" and len(server.requests_to(SEARCH)) > 1:
            return Reply.json('{"error":"ExpiredToken","message":"Token has expired"}', 400)
        return Reply.json('{"posts": []}')

    server.routes[SEARCH] = search
    c = collector(server)
    try:
        c.fetch(Cursor())
        c.fetch(Cursor())  # access-1 expired now: refresh, then retry
        c.fetch(Cursor())
    finally:
        c.close()
    assert len(server.requests_to(LOGIN)) == 1
    (refresh,) = server.requests_to(REFRESH)
    assert refresh.headers["Authorization"] == "Bearer refresh-1"
    assert [s.headers["Authorization"] for s in server.requests_to(SEARCH)] == [
        "Bearer access-1",
        "Bearer access-1",
        "Bearer access-2",
        "Bearer access-2",
    ]


def test_logs_in_again_when_refresh_fails(server: LocalServer) -> None:
    server.routes[LOGIN] = [session_reply(1), session_reply(3)]
    server.routes[REFRESH] = Reply.json('{"error":"ExpiredToken","message":"Token has been revoked"}', 400)
    server.routes[SEARCH] = [
        Reply.json('{"posts": []}'),
        Reply.json('{"error":"ExpiredToken"}', 401),
        Reply.json('{"posts": []}'),
    ]
    c = collector(server)
    try:
        c.fetch(Cursor())
        c.fetch(Cursor())
    finally:
        c.close()
    assert len(server.requests_to(LOGIN)) == 2
    assert server.requests_to(SEARCH)[-1].headers["Authorization"] == "Bearer access-3"


def test_bad_app_password_is_an_auth_error(server: LocalServer) -> None:
    server.routes[LOGIN] = Reply.json(
        '{"error":"AuthenticationRequired","message":"Invalid identifier or password"}', 401
    )
    c = collector(server)
    try:
        with pytest.raises(AuthError, match=r"login failed.*AuthenticationRequired"):
            c.fetch(Cursor())
    finally:
        c.close()


def test_missing_credentials() -> None:
    with pytest.raises(AuthError, match="app_password"):
        BlueskyCollector(make_ctx("bluesky", "http://127.0.0.1:9", credentials={"identifier": "x"}))


def test_rate_limited_with_ratelimit_reset(server: LocalServer) -> None:
    reset = NOW + timedelta(minutes=5)
    server.routes[LOGIN] = session_reply(1)
    server.routes[SEARCH] = Reply.json(
        '{"error":"RateLimitExceeded"}', 429, {"ratelimit-reset": str(int(reset.timestamp()))}
    )
    c = collector(server)
    try:
        with pytest.raises(RateLimited) as info:
            c.fetch(Cursor())
    finally:
        c.close()
    assert info.value.reset_at == reset


def test_any_tags_search_each_and_cursor_overlaps(server: LocalServer) -> None:
    server.routes[LOGIN] = session_reply(1)
    server.routes[SEARCH] = Reply.file(DATA / "bluesky/search_empty.json", "application/json")
    c = collector(server, hashtags=("demo26", "keynote"), keywords=("open data",), accounts=("ivy.bsky.social",))
    try:
        result = c.fetch(Cursor(position="2026-05-14T10:40:00Z"))
    finally:
        c.close()
    assert result.cursor.position == "2026-05-14T10:40:00Z"
    qs = [(s.arg("q"), s.query.get("tag"), s.arg("since")) for s in server.requests_to(SEARCH)]
    assert qs == [
        ("#demo26", ["demo26"], "2026-05-14T10:38:00Z"),
        ("#keynote", ["keynote"], "2026-05-14T10:38:00Z"),
        ("open data", None, "2026-05-14T10:38:00Z"),
        ("from:ivy.bsky.social", None, "2026-05-14T10:38:00Z"),
    ]


def test_match_all_repeats_tag(server: LocalServer) -> None:
    server.routes[LOGIN] = session_reply(1)
    server.routes[SEARCH] = Reply.file(DATA / "bluesky/search_empty.json", "application/json")
    c = collector(server, hashtags=("demo26", "keynote"), match="all")
    try:
        c.fetch(Cursor())
    finally:
        c.close()
    (seen,) = server.requests_to(SEARCH)
    assert seen.arg("q") == "#demo26" and seen.query["tag"] == ["demo26", "keynote"]


def test_exclusions(server: LocalServer) -> None:
    server.routes[LOGIN] = session_reply(1)
    server.routes[SEARCH] = [
        Reply.file(DATA / "bluesky/search.json", "application/json"),
        Reply.file(DATA / "bluesky/search_empty.json", "application/json"),
    ]
    c = collector(server, exclude_accounts=("kim.bsky.social",), exclude_words=("hall",))
    try:
        result = c.fetch(Cursor())
    finally:
        c.close()
    assert sorted(p.external_id[-1] for p in result.posts) == ["2", "3", "5"]


def test_byte_offsets_inside_a_character_are_ignored() -> None:
    text = "🎉 #tag"
    assert byte_span_to_chars(text, 5, 9) == (2, 6)
    assert byte_span_to_chars(text, 1, 9) is None  # inside the emoji
    assert byte_span_to_chars(text, 5, 99) is None


def test_golden_lexicon_edge_cases(server: LocalServer) -> None:
    """Embeds as the app.bsky lexicons define them, optional parts left out: two images (one without
    alt or aspect ratio), an external link without a thumb, quotes of a deleted and a blocked post,
    a video still processing (no thumbnail), and a self-labelled graphic video."""
    server.routes[LOGIN] = Reply.file(DATA / "bluesky/session.json", "application/json")
    server.routes[SEARCH] = [
        Reply.file(DATA / "bluesky/lexicon_edges.json", "application/json"),
        Reply.file(DATA / "bluesky/search_empty.json", "application/json"),
    ]
    c = collector(server)
    try:
        result = c.fetch(Cursor())
    finally:
        c.close()
    check_golden(result.posts, DATA / "bluesky/lexicon_edges.expected.json")
    by_rkey = {p.external_id.rsplit("/", 1)[1]: p for p in result.posts}
    assert len(by_rkey) == 6
    images = by_rkey["3lc0000000001"].media
    assert [m.kind for m in images] == [MediaKind.PHOTO, MediaKind.PHOTO] and images[0].width == 1600
    assert by_rkey["3lc0000000002"].links == ("https://conference.example.org/slides/keynote",)
    for rkey in ("3lc0000000003", "3lc0000000004"):
        assert [r.kind for r in by_rkey[rkey].relations] == [RelationKind.QUOTE]
    processing = by_rkey["3lc0000000005"].media[0]
    assert processing.kind is MediaKind.VIDEO and processing.thumbnail_url is None
    graphic = by_rkey["3lc0000000006"]
    assert graphic.sensitive and graphic.media[0].thumbnail_url
