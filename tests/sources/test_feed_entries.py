"""Feed entries of every shape (issue 14 items 3-6): keys per source, media in every form,
titles as text or HTML by their type, no invented URLs, no blank posts."""

from __future__ import annotations

import pytest

from aggregator.sources.feed import FeedCollector
from aggregator.sources.http import HttpLimits
from aggregator.types import Cursor, FetchResult, MediaKind, PostKind
from tests.sources.conftest import make_ctx
from tests.sources.golden import DATA, check_golden
from tests.sources.server import LocalServer, Reply

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
FAST = HttpLimits(connect_timeout=1, read_timeout=1, deadline=2)


def collect(server: LocalServer, path: str, source_name: str = "photos", kind: str = "feed") -> FetchResult:
    ctx = make_ctx(kind, server.url, params={"url": server.url + path})
    ctx = type(ctx)(**{**{f: getattr(ctx, f) for f in ctx.__slots__}, "source_name": source_name})
    c = FeedCollector(ctx, limits=FAST)
    try:
        return c.fetch(Cursor())
    finally:
        c.close()


@pytest.fixture
def media_forms(server: LocalServer) -> FetchResult:
    server.routes["/media.rss"] = Reply.file(DATA / "feed/media_forms.rss", RSS)
    return collect(server, "/media.rss")


def test_media_forms_golden(media_forms: FetchResult) -> None:
    check_golden(media_forms.posts, DATA / "feed/media_forms.expected.json")


def test_thumbnail_group_and_enclosure_all_yield_photos(media_forms: FetchResult) -> None:
    by_title = {p.title: p for p in media_forms.posts}
    thumb_only = by_title["Thumbnail only"]
    assert thumb_only.kind is PostKind.PHOTO
    assert [m.url for m in thumb_only.media] == ["https://photos.example.org/img/1_t.jpg"]
    group = by_title["In a media group"]
    assert group.media[0].url == "https://photos.example.org/img/2_large.jpg"
    assert group.media[0].thumbnail_url == "https://photos.example.org/img/2_t.jpg"
    assert [m.url for m in by_title["Enclosure"].media] == ["https://photos.example.org/img/3.jpg"]


def test_atom_enclosure_links_and_title_types(server: LocalServer) -> None:
    server.routes["/talks.atom"] = Reply.file(DATA / "feed/enclosure.atom", ATOM)
    result = collect(server, "/talks.atom", "talks")
    check_golden(result.posts, DATA / "feed/enclosure.expected.json")
    first, second = result.posts
    assert [(m.kind, m.url) for m in first.media] == [
        (MediaKind.PHOTO, "https://talks.example.org/slides/1.png"),
        (MediaKind.VIDEO, "https://talks.example.org/video/1.mp4"),
    ]
    assert first.title == "Slides: <blink> considered harmful"  # a text title keeps its words
    assert second.title == "A bold claim"  # an HTML title is read as HTML
    assert first.url == "" and second.url == "https://talks.example.org/2"  # urn ids are not web addresses


def test_plain_text_title_keeps_angle_bracket_words(media_forms: FetchResult) -> None:
    titles = [p.title for p in media_forms.posts]
    assert "History of the <blink> tag" in titles


def test_entry_without_link_has_no_url(media_forms: FetchResult) -> None:
    note = next(p for p in media_forms.posts if p.title.startswith("History"))
    assert note.url == ""
    assert not note.external_id.startswith("sha256") or "|" in note.external_id
    assert all(not p.url.startswith("sha256:") and p.url != "photo-1" for p in media_forms.posts)


def test_blank_entries_are_skipped_and_counted(media_forms: FetchResult) -> None:
    assert len(media_forms.posts) == 4
    assert media_forms.skipped == (("empty (no text, media or link)", 2),)
    assert media_forms.fetched == 6


def test_keys_are_namespaced_by_source(server: LocalServer) -> None:
    # Two feeds that number their entries the same way: without a namespace they were one post.
    feed = (
        '<rss version="2.0"><channel><title>{0}</title>'
        "<item><guid isPermaLink=\"false\">1</guid><title>{0} entry</title></item></channel></rss>"
    )
    server.routes["/a"] = Reply(200, feed.format("A").encode(), {"Content-Type": RSS})
    server.routes["/b"] = Reply(200, feed.format("B").encode(), {"Content-Type": RSS})
    (a,) = collect(server, "/a", "alpha").posts
    (b,) = collect(server, "/b", "beta").posts
    assert (a.external_id, b.external_id) == ("alpha|1", "beta|1")
    assert a.key != b.key


def test_content_less_entries_with_media_get_distinct_keys(server: LocalServer) -> None:
    items = "".join(
        f'<item><enclosure url="https://e.example/{i}.jpg" type="image/jpeg" length="1"/></item>' for i in range(3)
    )
    server.routes["/c"] = Reply(200, f'<rss version="2.0"><channel><title>c</title>{items}</channel></rss>'.encode(),
                                {"Content-Type": RSS})
    posts = collect(server, "/c", "pics").posts
    assert len({p.external_id for p in posts}) == 3
    assert all(p.external_id.startswith("pics|sha256:") and p.url == "" for p in posts)


def test_platform_ids_stay_global_for_youtube(server: LocalServer) -> None:
    server.routes["/feeds/videos.xml"] = Reply.file(DATA / "youtube/videos.xml", ATOM)
    c = FeedCollector(make_ctx("youtube", server.url, params={"channel_id": "UCdemo26channel000000000"}), limits=FAST)
    try:
        posts = c.fetch(Cursor()).posts
    finally:
        c.close()
    assert all(p.external_id.startswith("yt:video:") for p in posts)
