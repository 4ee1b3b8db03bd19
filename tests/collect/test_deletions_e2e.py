"""Deletions propagate: a post its author deletes on the platform leaves every surface and never returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.clock import FakeClock
from aggregator.sandbox import Fault, Sandbox, default_scenario
from aggregator.scheduler import collect_once
from aggregator.storage import PostQuery
from aggregator.types import Platform, Status
from tests.collect.helpers import deployment, loaded, settings_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VICTIMS = {"x": "x-quote", "bluesky": "bluesky-emoji-rtl", "mastodon": "mastodon-cw"}


def test_posts_deleted_at_the_source_are_removed_tombstoned_and_retracted(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=2), f"sqlite:///{tmp_path}/del.db"))
        with deployment(cfg, clock) as (storage, col):
            assert all(o.ok for o in collect_once(col.runners))
            event = storage.event("sandbox-day")
            assert event is not None
            ids = {k: sb.ids(v) for k, v in VICTIMS.items()}
            keys = {
                "x": (Platform.X, ids["x"]["id"]),
                "bluesky": (Platform.BLUESKY, ids["bluesky"]["uri"]),
                "mastodon": (Platform.MASTODON, ids["mastodon"]["uri"]),
            }
            before = {p.external_id: p for p in storage.posts(event.id, PostQuery(statuses=tuple(Status),
                                                                                  limit=500)).posts}
            assert all(ext in before for _, ext in keys.values())
            seq = storage.last_live_seq()

            for platform, post_id in VICTIMS.items():
                sb.delete(platform, post_id)
            # Within the recheck interval nothing is asked yet...
            clock.advance(60)
            assert sum(o.removed for o in collect_once(col.runners)) == 0
            # ... after it, each source asks its platform about its recent posts.
            clock.advance(600)
            outcomes = collect_once(col.runners)
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
            assert sum(o.removed for o in outcomes) >= 3

            after = {p.external_id: p for p in storage.posts(event.id, PostQuery(statuses=tuple(Status),
                                                                                 limit=500)).posts}
            for platform, ext in keys.values():
                assert after[ext].status is Status.REMOVED, platform
                assert storage.tombstone_reason(event.id, _key(platform, ext)) == "deleted_at_source"
            shown = {p.external_id for p in storage.posts(event.id).posts}
            assert not shown & {ext for _, ext in keys.values()}
            retracted = {e.post_id for e in storage.live_after(seq, event.id) if e.kind == "post.retracted"}
            assert {after[ext].id for _, ext in keys.values() if before[ext].status is Status.APPROVED} <= retracted
            # Exactly those, and the scenario's own deletions of the day (it deletes two posts itself).
            own = [sb.ids(p.id) for p in sb.scenario.posts if p.deleted_at is not None]
            own_ext = {i.get("uri") if i["platform"] == "mastodon" else i["id"] for i in own}
            removed = {ext for ext, p in after.items() if p.status is Status.REMOVED}
            assert removed == {ext for _, ext in keys.values()} | (own_ext & set(before))


def test_a_platform_outage_during_the_check_removes_nothing(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=2), f"sqlite:///{tmp_path}/out.db"))
        with deployment(cfg, clock) as (storage, col):
            assert all(o.ok for o in collect_once(col.runners))
            clock.advance(700)
            sb.set_fault("x", Fault("status", status=503, match="/2/tweets"))  # lookups fail, search too
            sb.set_fault("mastodon", Fault("status", status=500, match="/statuses/"))
            sb.set_fault("bluesky", Fault("status", status=502, match="getPosts"))
            outcomes = collect_once(col.runners)
            assert sum(o.removed for o in outcomes) == 0
            event = storage.event("sandbox-day")
            assert event is not None
            assert Status.REMOVED not in storage.count_by_status(event.id)


def _key(platform: Platform, ext: str) -> object:
    from aggregator.types import PostKey

    return PostKey(platform, ext)
