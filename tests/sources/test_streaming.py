"""Streaming pieces on their own: SSE parsing, Jetstream's local filter, the destination policy, backoff,
the streaming setting, and the stream runner living under the scheduler's leader lock."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aggregator.config import SourceSettings
from aggregator.scheduler import Scheduler
from aggregator.sources.destination import STRICT, DestinationRefused
from aggregator.sources.jetstream import PostFilter, record_tags
from aggregator.sources.streamio import SseEvent, http_form, open_socket, parse_sse
from aggregator.storage.leader import LeaderLock
from aggregator.streams import RETRY_CAP, retry_delay


def test_sse_events_are_parsed_as_the_spec_says() -> None:
    raw = [b":)\n", b"\n", b"event: update\n", b'data: {"id":"1",\n', b'data: "uri":"u"}\n', b"\n",
           b":thump\n", b"event: delete\r\n", b"data: 1234\r\n", b"\r\n", b"id: 7\n", b"data: plain\n", b"\n"]
    assert list(parse_sse(iter(raw))) == [
        SseEvent("update", '{"id":"1",\n"uri":"u"}'), SseEvent("delete", "1234"), SseEvent("message", "plain"),
    ]


def _record(text: str, *, facet_tags: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> dict[str, Any]:
    facets = [{"index": {"byteStart": 0, "byteEnd": 1},
               "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]} for t in facet_tags]
    return {"$type": "app.bsky.feed.post", "text": text, "facets": facets, "tags": list(tags)}


def test_record_tags_come_from_facets_record_tags_and_the_text() -> None:
    assert record_tags(_record("hi #Copro14 and a#not", facet_tags=("Keynote",), tags=("#Extra",)),
                       "hi #Copro14 and a#not") == {"copro14", "keynote", "extra"}


def test_the_jetstream_filter_keeps_the_events_posts_and_nothing_else() -> None:
    any_tag = PostFilter(frozenset({"copro14", "coproduction"}), False, ("co-production",), frozenset({"did:plc:x"}))
    assert any_tag.matches("did:plc:a", _record("hello #COPRO14"))
    assert any_tag.matches("did:plc:a", _record("tagless", facet_tags=("coproduction",)))
    assert any_tag.matches("did:plc:a", _record("Thoughts on Co-Production today"))
    assert any_tag.matches("did:plc:x", _record("anything from a followed account"))
    assert not any_tag.matches("did:plc:a", _record("morning run done #running"))
    assert not any_tag.matches("did:plc:a", _record("copro14 without the mark"))
    all_tags = PostFilter(frozenset({"copro14", "keynote"}), True, (), frozenset())
    assert all_tags.matches("did:plc:a", _record("#copro14 #keynote"))
    assert not all_tags.matches("did:plc:a", _record("#copro14 only"))


@pytest.mark.parametrize("url", ["ws://127.0.0.1:9/subscribe", "wss://10.0.0.1/subscribe",
                                 "http://169.254.169.254/api/v1/streaming/hashtag?tag=x"])
def test_streams_connect_only_where_the_destination_policy_allows(url: str) -> None:
    with pytest.raises(DestinationRefused):
        open_socket(url, STRICT, timeout=1)


def test_websocket_urls_are_checked_as_their_http_form() -> None:
    assert http_form("wss://jetstream2.us-east.bsky.network/subscribe") == \
        "https://jetstream2.us-east.bsky.network/subscribe"
    assert http_form("ws://127.0.0.1:8/x") == "http://127.0.0.1:8/x"


def test_reconnect_delays_double_up_to_a_cap() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, False, rng) for n in range(1, 14)]
    assert delays[0] <= 1.0 and delays[3] > delays[2] > delays[1]
    assert max(delays) <= RETRY_CAP and delays[-1] >= RETRY_CAP * 0.8
    assert retry_delay(1, True, rng) >= 48  # "no stream here" waits longer before asking again


def test_streaming_is_offered_for_mastodon_and_bluesky_only() -> None:
    assert SourceSettings.model_validate({"kind": "mastodon", "streaming": True}).streaming
    with pytest.raises(ValidationError, match="streaming is available"):
        SourceSettings.model_validate({"kind": "x", "streaming": True})


class _FakeStreamRunner:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.wake: Any = None

    def start(self) -> None:
        self.started.set()

    def stop(self) -> None:
        self.stopped.set()


def test_streams_run_only_in_the_process_holding_the_leader_lock(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path}/leader.db")
    other = LeaderLock(engine)
    assert other.try_acquire()  # another process collects
    stream = _FakeStreamRunner()
    sched = Scheduler([], leader=LeaderLock(engine), streams=[stream], standby_poll=0.05)  # type: ignore[list-item]
    sched.start()
    try:
        assert not stream.started.wait(0.3)
        other.release()  # the leader dies: this process takes over, streams included
        assert stream.started.wait(5)
        assert stream.wake == sched.wake
    finally:
        sched.stop()
        engine.dispose()
    assert stream.stopped.is_set()
