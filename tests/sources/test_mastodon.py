"""Mastodon collector: hashtag timeline over loopback, golden payload, paging, faults."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aggregator.sources.base import AuthError, RateLimited, SourceError
from aggregator.sources.http import HttpLimits
from aggregator.sources.mastodon import MastodonCollector, parse_link_header
from aggregator.types import Cursor, MediaKind, PostKind, RelationKind
from tests.sources.conftest import NOW, make_ctx
from tests.sources.golden import DATA, check_golden
from tests.sources.server import LocalServer, Reply, Seen

TAG = "/api/v1/timelines/tag/demo26"
FAST = HttpLimits(connect_timeout=1, read_timeout=1, deadline=1)


def collector(server: LocalServer, **kwargs: Any) -> MastodonCollector:
    return MastodonCollector(make_ctx("mastodon", server.url, **kwargs), limits=FAST)


def run(server: LocalServer, cursor: Cursor | None = None, **kwargs: Any) -> Any:
    c = collector(server, **kwargs)
    try:
        return c.fetch(cursor or Cursor())
    finally:
        c.close()


def test_golden_tag_timeline(server: LocalServer) -> None:
    server.routes[TAG] = Reply.file(DATA / "mastodon/tag_timeline.json", "application/json")
    result = run(server, hashtags=("Demo26", "OpenSpace", "demo_26"))
    check_golden(result.posts, DATA / "mastodon/tag_timeline.expected.json", server.url)
    assert result.cursor == Cursor(position="112400000000000005")
    seen = server.seen[0]
    assert seen.query == {"any[]": ["openspace", "demo_26"], "limit": ["40"]}
    assert "Authorization" not in seen.headers

    posts = {p.external_id.rsplit("/", 1)[-1]: p for p in result.posts}
    cw = posts["112400000000000005"]
    assert cw.spoiler_text == "Spoilers: closing keynote & awards" and cw.sensitive
    assert cw.edited_at is not None and cw.media[0].alt_text == "A trophy on the stage"
    assert cw.author.handle == "dana@social.example"
    boost = posts["activity"]
    assert boost.repost_of is not None
    assert boost.repost_of.external_id == "https://other.example/users/erin/statuses/9001"
    repost = boost.relation(RelationKind.REPOST)
    assert repost is not None and repost.external_id == boost.repost_of.external_id
    assert boost.author.bot and boost.text == boost.repost_of.text
    rtl = posts["112400000000000003"]
    assert rtl.links == (
        "https://blog.example.net/2026/05/demo26-notes?utm_source=mastodon",
        "https://blog.example.net/2026/05/demo26-notes",
    )
    assert "Second paragraph\nwith a line break & an ampersand" in rtl.text
    video = posts["112400000000000002"]
    assert video.kind is PostKind.VIDEO and video.media[0].kind is MediaKind.VIDEO
    assert video.relation(RelationKind.REPLY) is not None
    assert video.hashtags == ("demo26", "openspace")
    evil = posts["1"]
    for bad in ("<script", "onerror", "onclick", "javascript:", "data:", "<iframe", "<style", "<img"):
        assert bad not in evil.html
    assert evil.created_at == NOW  # far-future date clamped


def test_match_all_and_none_and_token(server: LocalServer) -> None:
    server.routes[TAG] = Reply.json("[]")
    result = run(
        server,
        hashtags=("demo26", "keynote"),
        match="all",
        exclude_words=("#spam",),
        credentials={"access_token": "tok"},
        params={"only_media": True},
    )
    assert result.posts == ()
    assert result.cursor == Cursor()
    seen = server.seen[0]
    assert seen.query == {"all[]": ["keynote"], "none[]": ["spam"], "only_media": ["true"], "limit": ["40"]}
    assert seen.headers["Authorization"] == "Bearer tok"


def _status(n: int) -> dict[str, Any]:
    return {
        "id": str(112500000000000000 + n),
        "created_at": "2026-05-14T11:00:00.000Z",
        "uri": f"https://social.example/users/u/statuses/{n}",
        "url": f"https://social.example/@u/{n}",
        "content": f"<p>post {n} #demo26</p>",
        "account": {"id": "1", "username": "u", "acct": "u", "display_name": "U", "url": "https://social.example/@u"},
        "tags": [{"name": "demo26"}],
        "media_attachments": [],
    }


def test_pages_forward_with_min_id_until_caught_up(server: LocalServer) -> None:
    # 95 new statuses after the cursor: pages of 40, 40, 15, each newest-first.
    def timeline(seen: Seen) -> Reply:
        after = int(seen.arg("min_id") or 0) - 112500000000000000
        ids = [n for n in range(1, 96) if n > after][:40]
        statuses = [_status(n) for n in reversed(ids)]
        headers = {}
        if ids:
            headers["Link"] = (
                f'<{server.url}{TAG}?max_id={112500000000000000 + ids[0]}>; rel="next", '
                f'<{server.url}{TAG}?min_id={112500000000000000 + ids[-1]}>; rel="prev"'
            )
        return Reply.json(json.dumps(statuses), headers=headers)

    server.routes[TAG] = timeline
    result = run(server, Cursor(position="112500000000000000"))
    assert len(result.posts) == 95
    assert result.cursor.position == "112500000000000095"
    assert [s.arg("min_id") for s in server.seen] == ["112500000000000000", "112500000000000040", "112500000000000080"]
    assert result.requests == 3


def test_paging_is_bounded_and_resumes(server: LocalServer) -> None:
    def endless(seen: Seen) -> Reply:
        after = int(seen.arg("min_id") or 0) - 112500000000000000
        return Reply.json(json.dumps([_status(n) for n in range(after + 40, after, -1)]))

    server.routes[TAG] = endless
    result = run(server, Cursor(position="112500000000000000"), params={"max_pages": 2})
    assert len(result.posts) == 80
    assert result.cursor.position == "112500000000000080"  # next run continues from here, nothing lost


def test_exclusions(server: LocalServer) -> None:
    server.routes[TAG] = Reply.file(DATA / "mastodon/page_newer.json", "application/json")
    result = run(server, Cursor(position="112400000000000005"), exclude_accounts=("spam@social.example",))
    assert [p.author.handle for p in result.posts] == ["dana@social.example"]
    assert result.cursor.position == "112400000000000007"
    result = run(server, Cursor(position="112400000000000005"), exclude_words=("crypto",))
    assert len(result.posts) == 1


def test_401_says_the_instance_needs_a_token(server: LocalServer) -> None:
    server.routes[TAG] = Reply.json('{"error":"This API requires an authenticated user"}', 401)
    with pytest.raises(AuthError, match=r"requires sign-in.*access_token"):
        run(server)


def test_rate_limit_iso_reset(server: LocalServer) -> None:
    reset = NOW + timedelta(minutes=4)
    server.routes[TAG] = Reply.json(
        '{"error":"Too many requests"}', 429, {"X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")}
    )
    with pytest.raises(RateLimited) as info:
        run(server)
    assert info.value.reset_at == reset


@pytest.mark.parametrize(("body", "message"), [("{oops", "malformed JSON"), ('{"a": 1}', "expected a list")])
def test_malformed_payloads(server: LocalServer, body: str, message: str) -> None:
    server.routes[TAG] = Reply.json(body)
    with pytest.raises(SourceError, match=message):
        run(server)


def test_parse_link_header() -> None:
    value = (
        '<https://m.example/api/v1/timelines/tag/a?max_id=1>; rel="next", <https://m.example/x?min_id=9>; rel="prev"'
    )
    assert parse_link_header(value) == {
        "next": "https://m.example/api/v1/timelines/tag/a?max_id=1",
        "prev": "https://m.example/x?min_id=9",
    }
    assert parse_link_header("garbage") == {}


def test_poll_options_and_links_shortened_as_mastodon_shows_them() -> None:
    from aggregator.sources.mastodon import status_to_post

    status = json.loads((DATA / "mastodon/poll_status.json").read_text(encoding="utf-8"))
    post = status_to_post(status, NOW, "https://social.example")
    assert post is not None
    # The link reads as on Mastodon: no scheme, cut where the ellipsis span ends, with "…".
    assert ">conference.example.org/program\u2026</a>" in post.html
    assert 'href="https://conference.example.org/programme/2026/afternoon-workshops-and-open-space"' in post.html
    # The text keeps the whole address (search and cross-post matching).
    assert "https://conference.example.org/programme/2026/afternoon-workshops-and-open-space" in post.text
    # The poll shows its options, escaped.
    assert "\u25ef Co-design in practice<br>\u25ef Open space &lt;on the lawn&gt;" in post.html
    assert post.text.endswith("\u25ef Co-design in practice\n\u25ef Open space <on the lawn>")
