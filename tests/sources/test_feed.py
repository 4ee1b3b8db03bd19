"""Feed collectors (Flickr, YouTube, any RSS/Atom): golden files, conditional GET, hostile XML."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from aggregator.sources.base import SourceError
from aggregator.sources.feed import FeedCollector, parse_feed, reject_unsafe_xml
from aggregator.sources.http import HttpLimits
from aggregator.types import Cursor, FetchResult, MediaKind, PostKind
from tests.sources.conftest import make_ctx
from tests.sources.golden import DATA, check_golden
from tests.sources.server import LocalServer, Reply

FLICKR = "/services/feeds/photos_public.gne"
YOUTUBE = "/feeds/videos.xml"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
FAST = HttpLimits(connect_timeout=1, read_timeout=1, deadline=1)
from tests.corpora import XML_ATTACKS as _XML_ATTACKS_DIR  # noqa: E402

XML_ATTACKS = sorted(_XML_ATTACKS_DIR.glob("*.xml"))
assert XML_ATTACKS, "no XML attack files"


def fetch(server: LocalServer, kind: str, cursor: Cursor | None = None, **settings: Any) -> FetchResult:
    c = FeedCollector(make_ctx(kind, server.url, **settings), limits=FAST)
    try:
        return c.fetch(cursor or Cursor())
    finally:
        c.close()


def test_flickr_atom_golden(server: LocalServer) -> None:
    server.routes[FLICKR] = Reply.file(DATA / "flickr/photos_public.atom", ATOM, headers={"ETag": '"f1"'})
    result = fetch(server, "flickr", hashtags=("demo26", "keynote"), match="all")
    check_golden(result.posts, DATA / "flickr/photos_public.atom.expected.json")
    assert server.seen[0].query == {"tags": ["demo26,keynote"], "tagmode": ["all"], "format": ["atom"]}
    assert result.cursor.etag == '"f1"'
    first = result.posts[0]
    assert first.kind is PostKind.PHOTO and first.media[0].url.endswith("_b.jpg")
    assert first.media[0].thumbnail_url and first.media[0].thumbnail_url.endswith("_m.jpg")
    assert first.text == "Carol on stage for the opening keynote"
    assert "<script" not in first.html and first.hashtags == ("demo26", "keynote")


def test_flickr_rss2_golden(server: LocalServer) -> None:
    server.routes[FLICKR] = Reply.file(DATA / "flickr/photos_public.rss2", RSS)
    result = fetch(server, "flickr", params={"format": "rss2"})
    check_golden(result.posts, DATA / "flickr/photos_public.rss2.expected.json")
    assert server.seen[0].arg("format") == "rss2" and server.seen[0].arg("tagmode") == "any"
    (post,) = result.posts
    assert post.author.name == "Other Photog"
    assert post.media[0].thumbnail_url and post.media[0].thumbnail_url.endswith("_s.jpg")
    assert post.hashtags == ("demo26", "graphicrecording", "openspace")


def test_youtube_golden(server: LocalServer) -> None:
    server.routes[YOUTUBE] = Reply.file(DATA / "youtube/videos.xml", ATOM)
    result = fetch(server, "youtube", params={"channel_id": "UCdemo26channel000000000"})
    check_golden(result.posts, DATA / "youtube/videos.expected.json")
    assert server.seen[0].query == {"channel_id": ["UCdemo26channel000000000"]}
    first = result.posts[0]
    assert first.kind is PostKind.VIDEO
    assert first.media[0].embed_url == "https://www.youtube.com/embed/Xy12_AbC-9z"
    assert first.media[0].thumbnail_url == "https://i.ytimg.com/vi/Xy12_AbC-9z/hqdefault.jpg"
    assert first.media[0].video_key == "youtube:Xy12_AbC-9z"
    assert first.hashtags == ("demo26",) and "<script" not in first.html


def test_youtube_playlist_url(server: LocalServer) -> None:
    server.routes[YOUTUBE] = Reply.file(DATA / "youtube/videos.xml", ATOM)
    fetch(server, "youtube", params={"playlist_id": "PLdemo"})
    assert server.seen[0].query == {"playlist_id": ["PLdemo"]}


def test_generic_feed_golden_and_filters(server: LocalServer) -> None:
    server.routes["/blog/feed"] = Reply.file(
        DATA / "feed/blog.rss", RSS, headers={"Last-Modified": "Thu, 14 May 2026 11:31:00 GMT"}
    )
    url = server.url + "/blog/feed"
    result = fetch(server, "feed", params={"url": url})
    check_golden(result.posts, DATA / "feed/blog.expected.json")
    assert len(result.posts) == 2
    assert result.cursor.last_modified == "Thu, 14 May 2026 11:31:00 GMT"
    post = result.posts[0]
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<img"):
        assert bad not in post.html
    assert post.language == "en" and post.title == "What I learnt at #Demo26"
    assert any(m.video_key == "youtube:Xy12_AbC-9z" for m in post.media)
    filtered = fetch(server, "feed", params={"url": url, "filter_hashtags": True})
    assert [p.title for p in filtered.posts] == ["What I learnt at #Demo26"]
    by_word = fetch(server, "feed", params={"url": url, "filter_keywords": True}, keywords=("tomatoes",))
    assert [p.title for p in by_word.posts] == ["Unrelated: my garden"]
    excluded = fetch(server, "feed", params={"url": url}, exclude_words=("garden",))
    assert len(excluded.posts) == 1


def test_conditional_get_and_304(server: LocalServer) -> None:
    server.routes[FLICKR] = Reply(304, b"", {"ETag": '"f1"'})
    cursor = Cursor(position="2026-05-14T10:42:17Z", etag='"f1"', last_modified="Thu, 14 May 2026 10:42:17 GMT")
    result = fetch(server, "flickr", cursor)
    assert result.not_modified and result.posts == () and result.cursor == cursor
    assert server.seen[0].headers["If-None-Match"] == '"f1"'
    assert server.seen[0].headers["If-Modified-Since"] == "Thu, 14 May 2026 10:42:17 GMT"


def test_html_page_is_not_a_feed(server: LocalServer) -> None:
    server.routes["/page"] = Reply.file(DATA / "feed/not_a_feed.html", "text/html; charset=utf-8")
    with pytest.raises(SourceError, match="not a feed"):
        fetch(server, "feed", params={"url": server.url + "/page"})


def test_bozo_feed_with_entries_is_kept(server: LocalServer) -> None:
    server.routes["/broken"] = Reply.file(DATA / "feed/broken_but_usable.rss", RSS)
    result = fetch(server, "feed", params={"url": server.url + "/broken"})
    (post,) = result.posts
    assert post.title == "First & only" and post.hashtags == ("demo26",)


@pytest.mark.parametrize("path", XML_ATTACKS, ids=[p.name for p in XML_ATTACKS])
def test_xml_attacks_are_refused_quickly(server: LocalServer, path: Path) -> None:
    server.routes["/attack"] = Reply.file(path, "application/xml")
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        fetch(server, "feed", params={"url": server.url + "/attack"})
    assert time.monotonic() - started < 2
    assert "refused feed" in str(info.value) or "not a feed" in str(info.value)


def test_entity_check_sees_utf16() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'.encode("utf-16")
    with pytest.raises(SourceError, match="refused"):
        reject_unsafe_xml(body, "http://127.0.0.1/x")


def test_plain_doctype_without_subset_is_allowed() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
        b"<item><title>a</title><link>https://e.example/a</link></item></channel></rss>"
    )
    parsed = parse_feed(body, "http://127.0.0.1/x", "application/rss+xml")
    assert len(parsed["entries"]) == 1


def test_feed_url_must_be_http(server: LocalServer) -> None:
    with pytest.raises(SourceError, match="http"):
        FeedCollector(make_ctx("feed", server.url, params={"url": "file:///etc/passwd"}))


def test_photo_kinds_from_media() -> None:
    from aggregator.sources.feed import entry_to_post
    from aggregator.types import Platform
    from tests.sources.conftest import NOW

    entry = {"id": "e1", "title": "pic", "enclosures": [{"href": "https://e.example/p.jpg", "type": "image/jpeg"}]}
    post = entry_to_post(entry, {}, Platform.FEED, NOW)
    assert post.kind is PostKind.PHOTO and post.media[0].kind is MediaKind.PHOTO
    assert post.created_at == NOW and post.external_id == "e1"
