"""X never loses a page (issue 14.2): a backlog larger than max_pages is drained over runs.

The sandbox X fake holds 320 tweets; with max_pages=5 and 10 tweets a page one run sees 50.
Before the fix the cursor jumped to the newest id after the first run and 270 were never
requested.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox
from aggregator.sandbox.scenario import Person, Scenario, ScenarioPost
from aggregator.sources.registry import make_collector
from aggregator.sources.x import Paging
from aggregator.types import Cursor
from tests.sources.conftest import make_ctx

START = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)


def backlog(n: int) -> Scenario:
    posts = tuple(
        ScenarioPost(f"t{i}", i * 10, "x", "fiona", f"Backlog tweet number {i}", hashtags=("copro14",))
        for i in range(n)
    )
    return Scenario("backlog", ("copro14",), (Person("fiona", "Fiona Gale", handle="fionagale"),), posts)


def test_320_tweets_arrive_over_successive_runs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(START + timedelta(seconds=3000))  # 301 tweets are out; 19 more arrive while draining
    with Sandbox(backlog(320), clock=clock, start=START) as sb:
        ctx = make_ctx(
            "x", sb.url("x"), hashtags=("copro14",), clock=clock, event_start=START - timedelta(minutes=5),
            credentials={"bearer_token": "sandbox-x-bearer-token"}, params={"max_pages": 5, "max_results": 10},
        )
        collector = make_collector(ctx)
        cursor = Cursor()
        seen: list[str] = []
        runs = 0
        caplog.set_level(logging.INFO, logger="aggregator.sources.x")
        try:
            while runs < 20:
                result = collector.fetch(cursor)
                runs += 1
                assert result.requests <= 5
                seen.extend(p.external_id for p in result.posts)
                cursor = result.cursor
                clock.advance(30)  # the next scheduled run; three more tweets each time
                if Paging.from_cursor(cursor.position).next is None and len(seen) >= 320:
                    break
        finally:
            collector.close()
    assert len(seen) == len(set(seen)) == 320  # all of them, none twice
    assert runs >= 7
    assert "x.backlog_draining" in caplog.text and "x.backlog_drained" in caplog.text
    # Settled: the cursor is a plain since_id again, the newest tweet's id.
    assert cursor.position is not None and cursor.position.isdigit()
    assert cursor.position == max(seen, key=int)


def test_paging_state_round_trips_and_old_cursors_still_read() -> None:
    assert Paging.from_cursor("1790000000000000000") == Paging("1790000000000000000")
    draining = Paging("17", None, "tok", "99")
    assert Paging.from_cursor(draining.position()) == draining
    assert Paging("17", None, None, "99").position() == "99"
    assert Paging.from_cursor("{not json") == Paging(None)
