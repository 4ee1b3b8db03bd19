"""Deduplication end to end: sandbox -> real collectors -> pipeline -> storage -> what a wall would show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.sandbox import Sandbox, scenario_from_dict
from aggregator.scheduler import collect_once
from aggregator.storage import PostQuery
from aggregator.types import Platform, Status
from tests.collect.helpers import ALLOW_SANDBOX, loaded

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAG = "dedupday"
STORM = 50
CROSSPOST = "Co-production is how we get things done here, not a side project #dedupday"


def scenario() -> Any:
    people = [
        {"key": "ann", "name": "Ann Speaker", "handle": "annspeaks", "mastodon_instance": "a"},
        {"key": "bo", "name": "Bo Photographer", "handle": "bophoto", "mastodon_instance": "b"},
        {"key": "cara", "name": "Cara Crossposter", "handle": "caracross", "mastodon_instance": "c"},
    ] + [{"key": f"fan{i}", "name": f"Fan {i}", "handle": f"fan{i}", "mastodon_instance": "a"} for i in range(STORM)]
    posts: list[dict[str, Any]] = [
        {"id": "keynote", "at": 0, "platform": "x", "author": "ann",
         "text": "Opening keynote: we share our strengths when we share power"},
        *({"id": f"rt{i}", "at": 10 + i, "platform": "x", "author": f"fan{i}", "repost_of": "keynote"}
          for i in range(STORM)),
        {"id": "toot3", "at": 100, "platform": "mastodon", "author": "bo", "instances": ["a", "b", "c"],
         "text": "Workshops are full: lovely to see so many new faces"},
        {"id": "xp-x", "at": 200, "platform": "x", "author": "cara", "text": CROSSPOST},
        {"id": "xp-m", "at": 230, "platform": "mastodon", "author": "cara", "text": CROSSPOST},
        {"id": "xp-b", "at": 260, "platform": "bluesky", "author": "cara", "text": CROSSPOST},
        {"id": "ph-flickr", "at": 300, "platform": "flickr", "author": "bo", "title": "The hall at lunch",
         "text": "The hall at lunch", "media": [{"kind": "photo", "seed": "hall", "width": 1200, "height": 800}]},
        {"id": "ph-x", "at": 330, "platform": "x", "author": "ann", "text": "Look at this room!",
         "media": [{"kind": "photo", "seed": "hall", "width": 1200, "height": 800}]},
    ]
    return scenario_from_dict({
        "name": "Dedup day",
        "hashtags": [TAG],
        "instances": [{"name": n, "domain": f"{n}.social.test"} for n in ("a", "b", "c")],
        "people": people,
        "posts": [{**p, "hashtags": [TAG]} for p in posts],
    })


def settings(sb: Sandbox, url: str) -> Settings:
    return Settings.model_validate({
        "server": {"database_url": url, "allow_private_fetch": ALLOW_SANDBOX},
        "events": [{
            "slug": "dedup-day", "title": "Dedup day", "timezone": "UTC",
            "start": NOW - timedelta(hours=2), "end": NOW + timedelta(hours=6), "hashtags": [TAG],
            "sources": [
                {"kind": "x", "api_base": sb.url("x"), "credentials": {"bearer_token": "X_TOKEN"}},
                *({"kind": "mastodon", "name": f"mastodon-{n}", "api_base": sb.url(f"mastodon/{n}")}
                  for n in ("a", "b", "c")),
                {"kind": "bluesky", "api_base": sb.url("bluesky"),
                 "credentials": {"identifier": "SKY_HANDLE", "app_password": "SKY_PASSWORD"}},
                {"kind": "flickr", "api_base": sb.url("flickr")},
            ],
            "moderation": {"mode": "post"},
        }],
    })


def test_each_thing_shows_once_with_counts_and_links(tmp_path: Path) -> None:
    from tests.collect.helpers import deployment

    clock = FakeClock(NOW)
    with Sandbox(scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings(sb, f"sqlite:///{tmp_path}/d.db"))
        with deployment(cfg, clock) as (storage, col):
            for _ in range(2):  # the second run must change nothing
                assert all(o.ok for o in collect_once(col.runners))
            event = storage.event("dedup-day")
            assert event is not None
            cards = storage.posts(event.id, PostQuery(limit=100)).posts
            everything = storage.posts(event.id, PostQuery(limit=200, statuses=tuple(Status))).posts
            dump = "\n".join(  # shown if an assertion fails
                f"{c.id} {c.platform.value} {c.status.value} -> {c.canonical_id} {c.text[:30]!r} {c.copies}"
                for c in everything if c.repost_count or not c.text.startswith("RT"))
            by_text = {c.text.split(" #")[0]: c for c in cards}

            # The retweet storm is one card with a count.
            keynote = by_text["Opening keynote: we share our strengths when we share power"]
            assert keynote.platform is Platform.X and keynote.repost_count == STORM

            # One Mastodon post seen through three instances is one card.
            toots = [c for c in cards if c.text.startswith("Workshops are full")]
            assert len(toots) == 1 and toots[0].platform is Platform.MASTODON

            # One person cross-posting to X, Mastodon and Bluesky: one card linking each copy.
            (cross,) = [c for c in cards if c.text.startswith("Co-production is how")]
            # Sources run in parallel, so which copy is the face depends on which was stored first
            # (faces never swap once shown); the card links every other copy.
            assert {cross.platform, *(p for p, _ in cross.copies)} == {Platform.X, Platform.MASTODON,
                                                                     Platform.BLUESKY}, dump
            assert len(cross.copies) == 2, dump
            assert all(url.startswith(("https://", "http://127.0.0.1")) for _, url in cross.copies)

            # One photo on Flickr and in a tweet: shown once, with a link to the other.
            photo_cards = [c for c in cards if c.media and c.media[0].kind.value == "photo"]
            assert len(photo_cards) == 1
            assert {photo_cards[0].platform, *(p for p, _ in photo_cards[0].copies)} == {
                Platform.FLICKR, Platform.X}

            assert len(cards) == 4
