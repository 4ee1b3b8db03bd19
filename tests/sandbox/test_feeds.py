"""Flickr, YouTube and blog feeds, parsed by feedparser as the collectors will."""

from __future__ import annotations

from email.utils import format_datetime
from io import BytesIO
from typing import Any

import feedparser
import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox


def parse(http: requests.Session, url: str) -> tuple[requests.Response, Any]:
    r = http.get(url, timeout=5)
    assert r.status_code == 200, r.text
    parsed = feedparser.parse(
        BytesIO(r.content), response_headers={"content-type": r.headers["content-type"], "content-location": url}
    )
    assert not parsed.bozo, parsed.get("bozo_exception")
    return r, parsed


def test_flickr_atom(sandbox: Sandbox, http: requests.Session) -> None:
    url = sandbox.url("flickr") + "/services/feeds/photos_public.gne?tags=copro14&format=atom"
    _, feed = parse(http, url)
    assert feed.version == "atom10"
    entries = feed.entries
    assert [e.title for e in entries] == ["Closing plenary", "Workshop: community budgets", "Main hall, morning"]
    first = entries[-1]
    ids = sandbox.ids("flickr-hall")
    assert first.id == ids["id"] and first.id.startswith("tag:flickr.com,2005:/photo/")
    assert first.link == ids["url"]
    assert first.published_parsed and first.author == "samreid"
    enclosure = first.enclosures[0]
    assert enclosure.type == "image/jpeg" and enclosure.href.endswith("/media/img/hall-1/1024x768.jpg")
    assert {"copro14", "coproduction", "edinburgh"} <= {t.term for t in first.tags}
    assert requests.get(enclosure.href, timeout=5).status_code == 200


def test_flickr_rss2_and_tagmode(sandbox: Sandbox, http: requests.Session) -> None:
    base = sandbox.url("flickr") + "/services/feeds/photos_public.gne"
    _, feed = parse(http, base + "?tags=copro14,workshop&tagmode=all&format=rss2")
    assert feed.version == "rss20"
    (entry,) = feed.entries
    assert entry.id == sandbox.ids("flickr-workshop")["id"]
    assert entry.media_content[0]["url"].endswith("/1024x768.jpg")
    assert entry.media_thumbnail[0]["url"].endswith("/75x75.jpg")
    assert entry.media_credit[0]["content"] == "samreid"
    assert entry.enclosures[0].type == "image/jpeg"
    assert entry.published_parsed
    assert "copro14 workshop" in {t.term for t in entry.tags}  # media:category holds space-separated tags
    _, anyof = parse(http, base + "?tags=workshop,edinburgh&tagmode=any&format=rss2")
    assert len(anyof.entries) == 2


def test_youtube_channel_and_playlist(sandbox: Sandbox, http: requests.Session) -> None:
    channel = "UCjointImprovementTeam01"
    _, feed = parse(http, sandbox.url("youtube") + f"/feeds/videos.xml?channel_id={channel}")
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == ["Workshop highlights", "Welcome and opening remarks"]
    e = feed.entries[1]
    ids = sandbox.ids("youtube-welcome")
    assert e.id == ids["id"] and e.yt_videoid == ids["video_id"] and e.yt_channelid == channel
    assert e.link == f"https://www.youtube.com/watch?v={ids['video_id']}"
    assert e.published_parsed and e.summary == "Fiona Gale opens the conference."
    thumb = e.media_thumbnail[0]["url"]
    assert thumb.endswith("/hqdefault.jpg")
    assert requests.get(thumb, timeout=5).headers["content-type"] == "image/jpeg"
    _, pl = parse(http, sandbox.url("youtube") + "/feeds/videos.xml?playlist_id=PLcopro14conference2014videos01")
    assert len(pl.entries) == 2
    assert http.get(sandbox.url("youtube") + "/feeds/videos.xml?channel_id=UCnope", timeout=5).status_code == 404


@pytest.mark.parametrize("ext", ["atom", "rss"])
def test_blog_feed(sandbox: Sandbox, http: requests.Session, ext: str) -> None:
    _, feed = parse(http, sandbox.url("feed") + f"/blog.{ext}")
    assert feed.version == ("atom10" if ext == "atom" else "rss20")
    assert feed.feed.title == "Co-production Network blog"
    assert [e.title for e in feed.entries] == ["Bringing it all together", "Welcome and opening remarks"]
    welcome = feed.entries[1]
    assert welcome.id == sandbox.ids("blog-welcome")["id"] and welcome.link == welcome.id
    assert welcome.published_parsed and welcome.enclosures[0].type == "image/jpeg"
    assert {t.term for t in welcome.tags} == {"copro14"}


def test_blog_conditional_get(live: Sandbox, clock: FakeClock, http: requests.Session) -> None:
    url = live.url("feed") + "/blog.atom"
    clock.advance(1800 / 60 + 1)  # the first blog post is out
    r = http.get(url, timeout=5)
    etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert r.status_code == 200 and etag and modified
    again = http.get(url, headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert http.get(url, headers={"If-Modified-Since": modified}, timeout=5).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"other"'}, timeout=5).status_code == 200
    clock.advance((2400 - 1800) / 60)  # a new post changes the feed
    newer = http.get(url, headers={"If-None-Match": etag, "If-Modified-Since": modified}, timeout=5)
    assert newer.status_code == 200 and newer.headers["ETag"] != etag
    old = format_datetime(clock.now.replace(year=2020), usegmt=True)
    assert http.get(url, headers={"If-Modified-Since": old}, timeout=5).status_code == 200


def test_unknown_feed_is_404(sandbox: Sandbox, http: requests.Session) -> None:
    assert http.get(sandbox.url("feed") + "/nope.atom", timeout=5).status_code == 404
    assert http.get(sandbox.url("flickr") + "/elsewhere", timeout=5).status_code == 404
