"""Deletion details end to end: a card outlives its deleted face, a deleted copy leaves the card's links,
the re-check sweeps the whole event (not only the last day), and a source that now collects something
else starts from a fresh cursor."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

from aggregator.clock import FakeClock
from aggregator.config import LoadedConfig, Settings
from aggregator.sandbox import Sandbox, scenario_from_dict
from aggregator.scheduler import RECHECK_WINDOW, collect_once
from aggregator.storage import PostQuery, Storage
from aggregator.storage.moderation import Actor
from aggregator.storage.records import StoredPost
from aggregator.types import Platform, Status
from tests.collect.helpers import ALLOW_SANDBOX, deployment, loaded

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAG = "deleteday"
SLUG = "delete-day"
CROSSPOST = "Co-production is how we get things done here, not a side project #deleteday"
IDS = {"xp-x": "x", "xp-m": "mastodon", "xp-b": "bluesky"}


def scenario(old_post_minutes: int = 0) -> Any:
    people = [{"key": "cara", "name": "Cara Crossposter", "handle": "caracross", "mastodon_instance": "a"},
              {"key": "dan", "name": "Dan Early", "handle": "danearly", "mastodon_instance": "a"}]
    posts: list[dict[str, Any]] = [
        {"id": "xp-x", "at": 200, "platform": "x", "author": "cara", "text": CROSSPOST},
        {"id": "xp-m", "at": 230, "platform": "mastodon", "author": "cara", "text": CROSSPOST},
        {"id": "xp-b", "at": 260, "platform": "bluesky", "author": "cara", "text": CROSSPOST},
    ]
    if old_post_minutes:
        posts.append({"id": "early", "at": old_post_minutes, "platform": "x", "author": "dan",
                      "text": "Setting up the hall the day before: chairs, screens and a lot of coffee"})
    return scenario_from_dict({
        "name": "Delete day",
        "hashtags": [TAG],
        "instances": [{"name": "a", "domain": "a.social.test"}],
        "people": people,
        "posts": [{**p, "hashtags": [TAG]} for p in posts],
    })


def settings(sb: Sandbox, url: str, start: datetime, **moderation: Any) -> Settings:
    return Settings.model_validate({
        "server": {"database_url": url, "allow_private_fetch": ALLOW_SANDBOX},
        "events": [{
            "slug": SLUG, "title": "Delete day", "timezone": "UTC",
            "start": start, "end": NOW + timedelta(hours=48), "hashtags": [TAG],
            "sources": [
                {"kind": "x", "api_base": sb.url("x"), "credentials": {"bearer_token": "X_TOKEN"}},
                {"kind": "mastodon", "name": "mastodon-a", "api_base": sb.url("mastodon/a")},
                {"kind": "bluesky", "api_base": sb.url("bluesky"),
                 "credentials": {"identifier": "SKY_HANDLE", "app_password": "SKY_PASSWORD"}},
            ],
            "moderation": {"mode": "post", **moderation},
        }],
    })


def _everything(storage: Storage, event_id: int) -> dict[str, StoredPost]:
    return {p.text.split(" #")[0] + f"@{p.platform.value}": p
            for p in storage.posts(event_id, PostQuery(statuses=tuple(Status), limit=500)).posts}


def _api_cards(cfg: LoadedConfig, storage: Storage) -> list[dict[str, Any]]:
    from aggregator.web.app import create_app

    client = TestClient(create_app(cfg, storage, clock=storage.clock), base_url="http://127.0.0.1")
    response = client.get(f"/api/events/{SLUG}/posts")
    assert response.status_code == 200
    posts: list[dict[str, Any]] = response.json()["posts"]
    return posts


def _crosspost_cards(storage: Storage, event_id: int) -> list[StoredPost]:
    return [p for p in storage.posts(event_id).posts if p.text.startswith("Co-production")]


def test_a_cross_post_whose_face_is_deleted_stays_one_card_fronted_by_the_next_copy(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Sandbox(scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings(sb, f"sqlite:///{tmp_path}/d.db", NOW - timedelta(hours=2)))
        with deployment(cfg, clock) as (storage, col):
            assert all(o.ok for o in collect_once(col.runners))
            event = storage.event(SLUG)
            assert event is not None
            (card,) = _crosspost_cards(storage, event.id)
            assert len(card.copies) == 2
            by_platform = {Platform(v): k for k, v in IDS.items()}
            face_id = by_platform[card.platform]
            # The copies in dedup's order (earliest first): the next face is the earliest left.
            remaining = sorted((k for k in IDS if k != face_id), key=lambda k: sb.scenario.post(k).at)
            seq = storage.last_live_seq()

            sb.delete(IDS[face_id], face_id)
            clock.advance(700)
            outcomes = collect_once(col.runners)
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]

            (new_card,) = _crosspost_cards(storage, event.id)
            assert new_card.platform is Platform(IDS[remaining[0]])
            assert new_card.status is Status.APPROVED and new_card.canonical_id is None
            assert [p for p, _ in new_card.copies] == [Platform(IDS[remaining[1]])]
            assert storage.post(event.id, card.id).status is Status.REMOVED  # type: ignore[union-attr]
            # The walls: the old face retracted, the new one published.
            rows = [(e.kind, e.post_id) for e in storage.live_after(seq, event.id)]
            assert ("post.retracted", card.id) in rows and ("post.approved", new_card.id) in rows
            # The API shows the one card, fronted by the promoted copy, linking the copy left.
            api = [p for p in _api_cards(cfg, storage) if p["text"].startswith("Co-production")]
            assert len(api) == 1 and api[0]["id"] == new_card.id and len(api[0]["also_on"]) == 1

            # A deleted copy disappears from the card's links.
            sb.delete(IDS[remaining[1]], remaining[1])
            seq = storage.last_live_seq()
            clock.advance(700)
            assert all(o.ok for o in collect_once(col.runners))
            (last,) = _crosspost_cards(storage, event.id)
            assert last.id == new_card.id and last.copies == ()
            assert ("post.updated", last.id) in [(e.kind, e.post_id) for e in storage.live_after(seq, event.id)]
            api = [p for p in _api_cards(cfg, storage) if p["text"].startswith("Co-production")]
            assert len(api) == 1 and api[0]["also_on"] == []


def test_a_promoted_copy_is_shown_only_if_moderation_would_show_it(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Sandbox(scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings(sb, f"sqlite:///{tmp_path}/m.db", NOW - timedelta(hours=2)))
        with deployment(cfg, clock) as (storage, col):
            assert all(o.ok for o in collect_once(col.runners))
            event = storage.event(SLUG)
            assert event is not None
            (card,) = _crosspost_cards(storage, event.id)
            face_id = {Platform(v): k for k, v in IDS.items()}[card.platform]
            # Since the card was approved, a moderator blocked the author: a copy must not step in.
            for p in _everything(storage, event.id).values():
                if p.platform is not card.platform and p.text.startswith("Co-production"):
                    storage.moderate_author(event.id, p.author_id, "block", Actor(None, "mod"))
            seq = storage.last_live_seq()
            sb.delete(IDS[face_id], face_id)
            clock.advance(700)
            assert all(o.ok for o in collect_once(col.runners))
            assert _crosspost_cards(storage, event.id) == []
            kinds = [e.kind for e in storage.live_after(seq, event.id) if e.kind == "post.approved"]
            assert kinds == []
            promoted = [p for p in _everything(storage, event.id).values()
                        if p.text.startswith("Co-production") and p.canonical_id is None
                        and p.status is not Status.REMOVED]
            assert len(promoted) == 1 and promoted[0].status is Status.REJECTED
            assert promoted[0].status_rule == "blocked_author"


def test_a_post_older_than_a_day_is_found_deleted(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    # A two-day event; "early" is collected on the first day and deleted 30 hours later.
    with Sandbox(scenario(old_post_minutes=1), clock=clock, fast=True) as sb:
        cfg = loaded(settings(sb, f"sqlite:///{tmp_path}/o.db", NOW - timedelta(hours=2)))
        with deployment(cfg, clock) as (storage, col):
            assert all(o.ok for o in collect_once(col.runners))
            event = storage.event(SLUG)
            assert event is not None
            early = next(p for p in _everything(storage, event.id).values() if p.text.startswith("Setting up"))
            clock.advance(30 * 3600)
            assert early.created_at < clock() - RECHECK_WINDOW
            sb.delete("x", "early")
            assert all(o.ok for o in collect_once(col.runners))
            assert storage.post(event.id, early.id).status is Status.REMOVED  # type: ignore[union-attr]
