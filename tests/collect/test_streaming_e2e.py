"""Streaming sources against the sandbox's Mastodon hashtag stream and Jetstream.

Posts arrive by stream (polling broken on purpose), streamed deletions retract cards, a
dropped Jetstream resumes from its cursor, a stalled Mastodon stream is caught up by polling,
malformed frames are skipped and logged, and a stream that answers 404/503 leaves the source
to polling at its usual interval.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.runtime import Collection
from aggregator.sandbox import Fault, Sandbox, default_scenario
from aggregator.storage import PostQuery, Storage
from aggregator.streams import StreamRunner
from aggregator.types import Platform, PostKey, Status
from tests.collect.helpers import ALLOW_SANDBOX, SLUG, deployment, loaded, stored_keys

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STALL = 0.5  # seconds of silence before a stream is reconnected (short, for tests)


def streaming_settings(sb: Sandbox, database_url: str, **source: Any) -> Settings:
    p = {"timeout": 5, "stream_stall": STALL}
    ws = sb.base_url.replace("http://", "ws://") + "/jetstream"
    return Settings.model_validate({
        "server": {"database_url": database_url, "allow_private_fetch": ALLOW_SANDBOX},
        "events": [{
            "slug": SLUG, "title": "Sandbox day", "timezone": "Europe/London",
            "start": NOW - timedelta(hours=2), "end": NOW + timedelta(hours=10),
            "hashtags": list(sb.scenario.hashtags),
            "sources": [
                {"kind": "mastodon", "name": "mastodon-a", "api_base": sb.url("mastodon/a"), "params": p,
                 "streaming": True, **source},
                {"kind": "bluesky", "api_base": sb.url("bluesky"), "params": p, "streaming": True,
                 "stream_url": ws, "credentials": {"identifier": "SKY_HANDLE", "app_password": "SKY_PASSWORD"},
                 **source},
            ],
            "moderation": {"mode": "post"},
        }],
    })


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until `check()` holds (streams deliver asynchronously); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)


def expected(sb: Sandbox) -> set[tuple[str, str]]:
    """What instance a's tag timelines and the Bluesky search show now (the polling truth)."""
    w, mastodon = sb.world, sb.app.mastodon
    out: set[tuple[str, str]] = set()
    for p in w.scenario.posts:
        if p.repost_of is not None or not w.is_visible(p):
            continue
        if p.platform == "mastodon" and p.visibility == "public" and "a" in mastodon.present_on(p):
            out.add(("mastodon", sb.ids(p.id)["uri"]))
        elif p.platform == "bluesky":
            out.add(("bluesky", sb.ids(p.id)["uri"]))
    return out


@contextmanager
def streaming(tmp_path: Path, sb: Sandbox, clock: FakeClock, *, poll: bool = True
              ) -> Iterator[tuple[Storage, Collection]]:
    cfg = loaded(streaming_settings(sb, f"sqlite:///{tmp_path}/stream.db"))
    with deployment(cfg, clock) as (storage, col):
        for s in col.streams:
            if not poll:
                s.wake = lambda runner: None  # streams alone: no catch-up polls
            s.start()
        try:
            yield storage, col
        finally:
            for s in col.streams:
                s.stop()


def streams_of(col: Collection, kind: str) -> list[StreamRunner]:
    return [s for s in col.streams if s.job.source.kind == kind]


def sandbox(clock: FakeClock) -> Sandbox:
    sb = Sandbox(default_scenario(), clock=clock)
    sb.set_streams(firehose=150, heartbeat=0.1)
    return sb


def test_posts_arrive_by_stream_and_streamed_deletions_retract_their_cards(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with sandbox(clock) as sb:
        # Polling is broken throughout: whatever arrives came by stream.
        sb.set_fault("mastodon/a", Fault("status", status=503, match="/timelines/"))
        sb.set_fault("bluesky", Fault("status", status=502, match="searchPosts"))
        with streaming(tmp_path, sb, clock, poll=False) as (storage, col):
            wait_for(lambda: all(s.healthy for s in col.streams))
            assert all(r.interval() == r.job.source.stream_poll_interval for r in col.runners)  # polling slows
            clock.advance(1400)  # the scenario's posts of the first 23 minutes are released
            want = expected(sb)
            wait_for(lambda: want <= set(stored_keys(storage)))
            assert set(stored_keys(storage)) == want  # none of the firehose's unrelated posts
            assert all(r.status == 503 for r in sb.requests("mastodon/a/api/v1/timelines"))

            event = storage.event(SLUG)
            assert event is not None
            seq = storage.last_live_seq()
            before = {PostKey(p.platform, p.external_id): p
                      for p in storage.posts(event.id, PostQuery(statuses=tuple(Status), limit=500)).posts}
            sb.delete("mastodon", "mastodon-cw")
            sb.delete("bluesky", "bluesky-emoji-rtl")
            gone = {PostKey(Platform.MASTODON, sb.ids("mastodon-cw")["uri"]),
                    PostKey(Platform.BLUESKY, sb.ids("bluesky-emoji-rtl")["uri"])}
            clock.advance(1)

            def removed() -> set[PostKey]:
                page = storage.posts(event.id, PostQuery(statuses=tuple(Status), limit=500)).posts
                return {PostKey(p.platform, p.external_id) for p in page if p.status is Status.REMOVED}

            wait_for(lambda: gone <= removed())
            retracted = {e.post_id for e in storage.live_after(seq, event.id) if e.kind == "post.retracted"}
            shown = {before[k].id for k in gone if before[k].status is Status.APPROVED}
            assert shown and retracted == shown  # cards on the wall are retracted (the content warning's was queued)
            assert storage.tombstone_reason(event.id, next(iter(gone))) == "deleted_at_source"
            # The firehose's own deletions of unrelated posts left no tombstones behind.
            assert sum(s.removed for s in col.streams) == 2


def test_a_dropped_jetstream_resumes_from_its_cursor(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with sandbox(clock) as sb:
        sb.set_fault("bluesky", Fault("status", status=502, match="searchPosts"))  # no polling to lean on
        sb.set_fault("jetstream", Fault("drop", seconds=0.4, times=1))
        with streaming(tmp_path, sb, clock, poll=False) as (storage, col):
            (jet,) = streams_of(col, "bluesky")
            wait_for(lambda: jet.connects == 1)
            wait_for(lambda: not jet.healthy)  # dropped
            clock.advance(1400)  # posted while the stream is away
            wait_for(lambda: jet.connects == 2)
            want = {k for k in expected(sb) if k[0] == "bluesky"}
            wait_for(lambda: want <= set(stored_keys(storage)))
            subscribes = sb.requests("jetstream/subscribe")
            assert subscribes[0].arg("cursor") is None
            resumed = subscribes[1].arg("cursor")
            assert resumed is not None and int(resumed) <= int(NOW.timestamp() * 1_000_000)


def test_a_stalled_mastodon_stream_is_caught_up_by_polling_without_duplicates(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with sandbox(clock) as sb:
        sb.set_fault("mastodon/a", Fault("freeze", seconds=30, times=1, match="/streaming/"))
        with streaming(tmp_path, sb, clock) as (storage, col):
            masto = streams_of(col, "mastodon")
            wait_for(lambda: any(s.connects for s in masto))
            polls_before = len(sb.requests("mastodon/a/api/v1/timelines"))
            clock.advance(1400)  # posted while one stream is silent (Mastodon does not replay)
            wait_for(lambda: sum(s.connects for s in masto) >= 3)  # the frozen one reconnected
            want = {k for k in expected(sb) if k[0] == "mastodon"}
            wait_for(lambda: want <= set(stored_keys(storage)))
            assert len(sb.requests("mastodon/a/api/v1/timelines")) > polls_before  # the gap was polled
            event = storage.event(SLUG)
            assert event is not None
            keys = stored_keys(storage)
            assert len(keys) == len(set(keys))
            created = Counter(e.post_id for e in storage.live_after(0, event.id, limit=5000)
                              if e.kind == "post.approved")
            assert created and max(created.values()) == 1  # each card announced once


def test_malformed_frames_are_skipped_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(NOW)
    caplog.set_level(logging.WARNING, logger="aggregator.streams")
    with sandbox(clock) as sb:
        sb.set_fault("mastodon/a", Fault("malformed", match="/streaming/"))
        sb.set_fault("jetstream", Fault("malformed"))
        with streaming(tmp_path, sb, clock, poll=False) as (storage, col):
            wait_for(lambda: all(s.healthy for s in col.streams))
            clock.advance(1400)
            wait_for(lambda: expected(sb) <= set(stored_keys(storage)))
            assert all(s.connects == 1 for s in col.streams)  # a broken frame does not break the stream
            assert all(getattr(s.stream, "malformed", 0) == 1 for s in col.streams)
    assert sum("stream.malformed" in r.getMessage() for r in caplog.records) == len(col.streams)


@pytest.mark.parametrize("status", [404, 503])
def test_a_stream_that_is_not_there_leaves_the_source_to_polling(tmp_path: Path, status: int) -> None:
    clock = FakeClock(NOW)
    with sandbox(clock) as sb:
        sb.set_fault("mastodon/a", Fault("status", status=status, match="/streaming/"))
        sb.set_fault("jetstream", Fault("status", status=status))
        clock.advance(1400)
        with streaming(tmp_path, sb, clock) as (storage, col):
            wait_for(lambda: expected(sb) <= set(stored_keys(storage)))  # by polling
            assert not any(s.healthy or s.connects for s in col.streams)
            assert all(r.interval() == r.job.source.interval for r in col.runners)  # usual cadence
            source = storage.source(storage.event(SLUG).id, "bluesky")  # type: ignore[union-attr]
            assert source is not None and source.cursor_position
