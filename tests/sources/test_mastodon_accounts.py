"""Mastodon follows named accounts (organisers, speakers) even when they leave out the hashtag."""

from __future__ import annotations

from datetime import timedelta

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox, scenario_from_dict
from aggregator.sources.mastodon import MastodonCollector
from aggregator.types import Cursor
from tests.sources.conftest import NOW, make_ctx


def _sandbox(clock: FakeClock) -> Sandbox:
    scenario = scenario_from_dict({
        "name": "accounts", "hashtags": ["acc26"],
        "instances": [{"name": "a", "domain": "a.social.test"}],
        "people": [
            {"key": "org", "name": "The Organisers", "handle": "organisers", "mastodon_instance": "a"},
            {"key": "ann", "name": "Ann", "handle": "ann", "mastodon_instance": "a"},
        ],
        "posts": [
            {"id": "tagged", "at": 0, "platform": "mastodon", "author": "ann", "text": "Hello #acc26"},
            {"id": "org-notag", "at": 60, "platform": "mastodon", "author": "org",
             "text": "Doors open at nine, coffee in the foyer"},
            {"id": "ann-notag", "at": 120, "platform": "mastodon", "author": "ann", "text": "My lunch was nice"},
            {"id": "org-later", "at": 600, "platform": "mastodon", "author": "org", "text": "Keynote starts now"},
        ],
    })
    return Sandbox(scenario, clock=clock, speed=1.0, start=NOW - timedelta(seconds=300))


def test_named_accounts_are_followed_without_the_hashtag() -> None:
    clock = FakeClock(NOW)
    with _sandbox(clock) as sb:
        ctx = make_ctx("mastodon", sb.url("mastodon/a"), hashtags=("acc26",), clock=clock,
                       event_start=NOW - timedelta(hours=1), accounts=("organisers",))
        collector = MastodonCollector(ctx)
        try:
            first = collector.fetch(Cursor())
            texts = sorted(p.text for p in first.posts)
            assert texts == ["Doors open at nine, coffee in the foyer", "Hello #acc26"]  # not Ann's lunch
            clock.advance(600)
            second = collector.fetch(first.cursor)
            assert [p.text for p in second.posts] == ["Keynote starts now"]
            assert collector.fetch(second.cursor).posts == ()
        finally:
            collector.close()


def test_an_old_plain_cursor_still_means_the_tag_timeline() -> None:
    from aggregator.sources.mastodon import _decode_positions, _encode_positions

    assert _decode_positions("1234") == {"tag": "1234"}
    assert _decode_positions(None) == {}
    assert _decode_positions(_encode_positions({"tag": "9", "@org": "7"})) == {"@org": "7", "tag": "9"}
