"""Every collector against the sandbox (loopback fakes of every platform, same wire formats)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aggregator.clock import FakeClock
from aggregator.sources.registry import make_collector
from aggregator.types import Cursor, FetchResult, Platform
from tests.sources.conftest import NOW, make_ctx

sandbox = pytest.importorskip("aggregator.sandbox")

CREDS: dict[str, dict[str, str]] = {
    "x": {"bearer_token": "sandbox-x-bearer-token"},
    "bluesky": {"identifier": "reporter.bsky.social", "app_password": "sandbox-app-password"},
}


@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    with sandbox.Sandbox(sandbox.default_scenario(), clock=FakeClock(NOW), fast=True) as running:
        yield running


def collect(sb: Any, kind: str, prefix: str, cursor: Cursor | None = None, **settings: Any) -> FetchResult:
    ctx = make_ctx(
        kind, sb.url(prefix), hashtags=("copro14",), credentials=CREDS.get(kind), event_start=None, **settings
    )
    collector = make_collector(ctx)
    try:
        return collector.fetch(cursor or Cursor())
    finally:
        collector.close()


@pytest.mark.parametrize(
    ("kind", "prefix", "settings", "platform"),
    [
        ("x", "x", {}, Platform.X),
        ("mastodon", "mastodon/a", {}, Platform.MASTODON),
        ("bluesky", "bluesky", {}, Platform.BLUESKY),
        ("flickr", "flickr", {}, Platform.FLICKR),
        ("youtube", "youtube", {"params": {"channel_id": "UCjointImprovementTeam01"}}, Platform.YOUTUBE),
    ],
)
def test_collects_from_sandbox_and_catches_up(
    sb: Any, kind: str, prefix: str, settings: dict[str, Any], platform: Platform
) -> None:
    first = collect(sb, kind, prefix, **settings)
    assert first.posts, f"{kind}: nothing collected"
    assert {p.platform for p in first.posts} == {platform}
    for post in first.posts:
        assert post.created_at.tzinfo is not None and post.created_at <= NOW
        assert post.url.startswith(("http://", "https://"))
        assert "<script" not in post.html
        assert all(t == t.lower() for t in post.hashtags)
    again = collect(sb, kind, prefix, first.cursor, **settings)
    if kind in ("x", "mastodon"):
        assert again.posts == ()  # since_id / min_id: nothing new
        assert again.cursor.position == first.cursor.position
    if kind in ("flickr", "youtube") and first.cursor.etag:
        assert again.not_modified


def test_blog_feed_from_sandbox(sb: Any) -> None:
    result = collect(sb, "feed", "feed", params={"url": sb.url("feed/blog.atom")})
    assert result.posts and {p.platform for p in result.posts} == {Platform.FEED}
