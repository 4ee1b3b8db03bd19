"""make_collector picks the collector for each kind and rejects missing credentials."""

from __future__ import annotations

import pytest

from aggregator.sources.base import AuthError
from aggregator.sources.bluesky import BlueskyCollector
from aggregator.sources.feed import FeedCollector
from aggregator.sources.mastodon import MastodonCollector
from aggregator.sources.registry import make_collector
from aggregator.sources.x import XCollector
from tests.sources.conftest import make_ctx

BASE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("kind", "extra", "cls"),
    [
        ("x", {"credentials": {"bearer_token": "t"}}, XCollector),
        ("mastodon", {}, MastodonCollector),
        ("bluesky", {"credentials": {"identifier": "a.bsky.social", "app_password": "p"}}, BlueskyCollector),
        ("flickr", {}, FeedCollector),
        ("youtube", {"params": {"channel_id": "UC1"}}, FeedCollector),
        ("feed", {"params": {"url": "http://127.0.0.1:9/feed.xml"}}, FeedCollector),
    ],
)
def test_make_collector(kind: str, extra: dict[str, object], cls: type) -> None:
    collector = make_collector(make_ctx(kind, BASE, **extra))  # type: ignore[arg-type]
    try:
        assert isinstance(collector, cls)
    finally:
        collector.close()


def test_missing_required_credentials() -> None:
    with pytest.raises(AuthError):
        make_collector(make_ctx("x", BASE))
