"""Mastodon's first poll goes back through the event so far (Link rel="next"), then follows forward."""

from __future__ import annotations

from datetime import timedelta

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox, scenario_from_dict
from aggregator.sources.mastodon import MastodonCollector
from aggregator.types import Cursor
from tests.sources.conftest import NOW, make_ctx

POSTS = 130  # more than three pages of 40


def _sandbox() -> Sandbox:
    scenario = scenario_from_dict({
        "name": "busy", "hashtags": ["busy26"],
        "instances": [{"name": "a", "domain": "a.social.test"}],
        "people": [{"key": "ann", "name": "Ann", "handle": "ann", "mastodon_instance": "a"}],
        "posts": [{"id": f"p{i}", "at": i * 60, "platform": "mastodon", "author": "ann",
                   "text": f"Update number {i} #busy26"} for i in range(POSTS)],
    })
    return Sandbox(scenario, clock=FakeClock(NOW), fast=True)


def test_first_poll_backfills_to_the_event_start_then_follows_forward() -> None:
    with _sandbox() as sb:
        ctx = make_ctx("mastodon", sb.url("mastodon/a"), hashtags=("busy26",),
                       event_start=NOW - timedelta(days=1))
        collector = MastodonCollector(ctx)
        try:
            first = collector.fetch(Cursor())
            assert len({p.external_id for p in first.posts}) == POSTS
            assert first.requests == 4  # newest page, then three older ones
            again = collector.fetch(first.cursor)
            assert again.posts == ()
        finally:
            collector.close()


def test_backfill_stops_at_the_event_start() -> None:
    with _sandbox() as sb:
        # The newest post is at NOW; posts are a minute apart: 50 of them are after this start.
        start = NOW - timedelta(minutes=49, seconds=30)
        ctx = make_ctx("mastodon", sb.url("mastodon/a"), hashtags=("busy26",), event_start=start)
        collector = MastodonCollector(ctx)
        try:
            first = collector.fetch(Cursor())
            # The newest page (40) is kept whole; older pages only down to the start.
            assert all(p.created_at >= start for p in first.posts[40:])
            assert len(first.posts) == 50
            assert first.requests == 2
        finally:
            collector.close()
