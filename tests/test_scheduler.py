"""The scheduler: backoff arithmetic, health bookkeeping, and isolation between sources."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.clock import FakeClock
from aggregator.config import LoadedConfig
from aggregator.scheduler import BACKOFF_CAP, Scheduler, SourceJob, SourceRunner, backoff_delay, jobs_from_config
from aggregator.sources.base import RateLimited, SourceContext, SourceError
from aggregator.storage import Storage
from aggregator.types import Cursor, FetchResult, IngestReport
from tests.factories import EVENT_START, make_post, make_settings, migrated_storage
from tests.waiting import wait_until

NOW = EVENT_START + timedelta(hours=1)


def test_backoff_doubles_then_caps_with_bounded_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(60, n, rng).total_seconds() for n in range(12)]
    for n, d in enumerate(delays[:5]):
        assert 60 * 2**n <= d <= 60 * 2**n * 1.1
    assert all(d <= BACKOFF_CAP.total_seconds() for d in delays)
    assert delays[-1] == BACKOFF_CAP.total_seconds()


class ScriptedCollector:
    """Answers each fetch with the next scripted result or exception."""

    def __init__(self, script: list[object], gate: threading.Event | None = None) -> None:
        self.script = script
        self.cursors: list[Cursor] = []
        self.gate = gate
        self.closed = False

    def fetch(self, cursor: Cursor) -> FetchResult:
        self.cursors.append(cursor)
        if self.gate is not None:
            self.gate.wait(10)
        step = self.script.pop(0) if self.script else FetchResult((), cursor)
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, FetchResult)
        return step

    def close(self) -> None:
        self.closed = True


def _job(storage: Storage, name: str = "masto") -> SourceJob:
    settings = make_settings()
    ev = settings.events[0]
    record = storage.event(ev.slug)
    assert record is not None
    src = storage.source(record.id, name)
    assert src is not None
    return SourceJob(ev, record.id, ev.sources[0], src.id, name, {})


def _runner(storage: Storage, collector: ScriptedCollector, clock: FakeClock) -> SourceRunner:
    job = _job(storage)

    def process(j: SourceJob, result: FetchResult) -> IngestReport:
        from tests.factories import approved

        return storage.ingest(j.event_id, j.source_id, [approved(p) for p in result.posts], result.cursor)

    def factory(_ctx: SourceContext) -> ScriptedCollector:
        return collector

    return SourceRunner(job, storage, process, factory, clock, "test-agent")


def test_runner_records_health_and_backs_off(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    collector = ScriptedCollector([
        FetchResult((make_post(1),), Cursor("1")),
        SourceError("HTTP 500 from http://127.0.0.1/x"),
        SourceError("HTTP 500 from http://127.0.0.1/x"),
        RateLimited("429 from mastodon", NOW + timedelta(minutes=7)),
        FetchResult((make_post(2),), Cursor("2")),
    ])
    with migrated_storage(f"sqlite:///{tmp_path}/s.db", clock=clock) as storage:
        runner = _runner(storage, collector, clock)
        ok = runner.run()
        assert ok.ok and ok.report and ok.report.inserted == 1 and ok.next_run_at == NOW + timedelta(seconds=60)

        first = runner.run()
        second = runner.run()
        assert not first.ok and first.error.startswith("HTTP 500")
        assert first.next_run_at and second.next_run_at
        assert second.next_run_at - NOW > first.next_run_at - NOW  # doubling
        health = storage.source(runner.job.event_id, "masto")
        assert health and health.consecutive_failures == 2 and health.last_error == "HTTP 500 from http://127.0.0.1/x"
        assert health.cursor_position == "1"  # a failure never moves the cursor

        limited = runner.run()
        assert limited.next_run_at == NOW + timedelta(minutes=7)
        health = storage.source(runner.job.event_id, "masto")
        assert health and health.rate_limited_until == NOW + timedelta(minutes=7)

        assert runner.run().ok
        health = storage.source(runner.job.event_id, "masto")
        assert health and health.consecutive_failures == 0 and health.rate_limited_until is None
        assert health.cursor_position == "2"
        assert [c.position for c in collector.cursors] == [None, "1", "1", "1", "1"]


def test_a_crashing_collector_is_recorded_not_raised(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with migrated_storage(f"sqlite:///{tmp_path}/s.db", clock=clock) as storage:
        runner = _runner(storage, ScriptedCollector([ZeroDivisionError("bug")]), clock)
        outcome = runner.run()
        assert not outcome.ok and "internal error: ZeroDivisionError" in outcome.error


def test_one_source_never_runs_twice_at_once(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    gate = threading.Event()
    with migrated_storage(f"sqlite:///{tmp_path}/s.db", clock=clock) as storage:
        collector = ScriptedCollector([], gate)
        runner = _runner(storage, collector, clock)
        t = threading.Thread(target=runner.run)
        t.start()
        wait_until(lambda: collector.cursors, what="the first run to reach fetch")
        assert runner.run().error == "already running"
        gate.set()
        t.join(5)


def test_a_stalled_source_does_not_delay_another(tmp_path: Path) -> None:
    """Real APScheduler, real time: one source hangs in fetch; the other runs on time."""
    settings = make_settings(sources=[
        {"kind": "mastodon", "name": "stuck", "api_base": "http://127.0.0.1:9/a", "interval": 5},
        {"kind": "mastodon", "name": "fine", "api_base": "http://127.0.0.1:9/b", "interval": 5},
    ])
    cfg = LoadedConfig(Path("t.toml"), settings, f"sqlite:///{tmp_path}/s.db", {})
    gate = threading.Event()
    ran: dict[str, datetime] = {}
    started = datetime.now(UTC)

    with migrated_storage(cfg.database_url, settings) as storage:
        storage.clock = lambda: datetime.now(UTC)
        runners = []
        for job in jobs_from_config(cfg, storage):
            collector = ScriptedCollector([], gate if job.name == "stuck" else None)

            def process(j: SourceJob, result: FetchResult) -> IngestReport:
                ran.setdefault(j.name, datetime.now(UTC))
                return IngestReport()

            runners.append(SourceRunner(job, storage, process, lambda _c, c=collector: c,  # type: ignore[misc]
                                        lambda: datetime.now(UTC), "t"))
        scheduler = Scheduler(runners, rng=random.Random(3))
        scheduler.start()
        try:
            wait_until(lambda: "fine" in ran, timeout=8, what="the other source to run")
        finally:
            gate.set()
            scheduler.stop()
        assert "fine" in ran and (ran["fine"] - started).total_seconds() < 5
        assert "stuck" not in ran or ran["stuck"] > ran["fine"]
