"""Runs every enabled source on its interval, politely and independently.

- A job per source (APScheduler 3.11), interval plus jitter, never two runs of
  one source at once (max_instances=1, coalesce), each in a worker thread of
  its own so a slow or failing source never delays another.
- Errors back off exponentially up to a cap; a 429 waits until the platform's
  reset time. Health (last success, last error, failures, next run) is stored
  with every run and shown by `aggregator sources`.
- The run itself (`run_source`) is plain code with an injectable clock, so the
  arithmetic is tested without sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aggregator.clock import Clock
from aggregator.config import EventSettings, LoadedConfig, SourceSettings
from aggregator.pipeline.ingest import PLATFORM_OF_KIND
from aggregator.sources.base import Collector, DeletionChecker, RateLimited, SourceContext, SourceError
from aggregator.sources.destination import FetchPolicy
from aggregator.storage import Storage, StorageError
from aggregator.storage.leader import LeaderLock
from aggregator.types import Cursor, FetchResult, IngestReport, PostKey

if TYPE_CHECKING:
    from aggregator.streams import StreamRunner

log = logging.getLogger("aggregator.scheduler")

BACKOFF_CAP = timedelta(hours=1)
# Deletions at the source: every so often, ask the platform about the source's posts. Each check
# asks about the newest posts (deletions come soonest) and the next page of a sweep through all
# of the source's standing posts of the event, whose place is kept in the database; a sweep that
# reaches the end starts again. Budgets are ids per check, within each platform's lookup limits:
# X tweets lookup 100 ids a request (5 requests), Bluesky getPosts 25 uris a request (10
# requests), Mastodon one status a request (40 of its 300 requests per 5 minutes, every 10).
RECHECK_EVERY = timedelta(minutes=10)
RECHECK_WINDOW = timedelta(hours=24)  # "newest": posts of the last day
RECHECK_NEWEST = {"x": 100, "bluesky": 50, "mastodon": 10}
RECHECK_SWEEP = {"x": 400, "bluesky": 200, "mastodon": 30}
MAX_JITTER = 0.1  # up to 10% of the interval, so sources sharing a host spread out


@dataclass(frozen=True, slots=True)
class SourceJob:
    """One configured source of one event, with what is needed to run it."""

    event: EventSettings
    event_id: int
    source: SourceSettings
    source_id: int
    name: str
    credentials: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run of a source did; printed by `collect --once`, logged by the scheduler."""

    job: SourceJob
    ok: bool
    report: IngestReport | None = None
    fetched: int = 0
    error: str = ""
    next_run_at: datetime | None = None
    rate_limited_until: datetime | None = None
    not_modified: bool = False
    removed: int = 0  # posts found deleted at the source and taken off every surface
    skipped: tuple[tuple[str, int], ...] = ()  # (reason, count): fetched but not handed to ingest


Process = Callable[[SourceJob, FetchResult], IngestReport]
Remove = Callable[[SourceJob, Sequence[PostKey]], int]  # posts gone at the source -> how many removed
CollectorFactory = Callable[[SourceContext], Collector]


def backoff_delay(interval: float, failures: int, rng: random.Random | None = None) -> timedelta:
    """Delay before the next try after `failures` consecutive failures: doubling, capped, jittered."""
    base = min(interval * (2 ** max(failures, 0)), BACKOFF_CAP.total_seconds())
    jitter = (rng or random).uniform(0, base * MAX_JITTER)
    return timedelta(seconds=min(base + jitter, BACKOFF_CAP.total_seconds()))


def jobs_from_config(cfg: LoadedConfig, storage: Storage, only: str | None = None) -> list[SourceJob]:
    """Every enabled source of every event (or the one named `event/source` or `source`)."""
    out: list[SourceJob] = []
    for ev in cfg.settings.events:
        record = storage.event(ev.slug)
        if record is None:
            raise StorageError(f"event {ev.slug} is not in the database: run `aggregator migrate`")
        for i, src in enumerate(ev.sources):
            name = ev.source_name(i)
            if only and only not in (name, f"{ev.slug}/{name}"):
                continue
            if not src.enabled:
                continue
            stored = storage.source(record.id, name)
            if stored is None:
                raise StorageError(f"source {ev.slug}/{name} is not in the database: run `aggregator migrate`")
            out.append(SourceJob(ev, record.id, src, stored.id, name, cfg.secrets.get(f"{ev.slug}/{name}", {})))
    return out


class SourceRunner:
    """Runs one source: fetch with the stored cursor, process, record health. Never raises SourceError."""

    def __init__(
        self,
        job: SourceJob,
        storage: Storage,
        process: Process,
        make_collector: CollectorFactory,
        clock: Clock,
        user_agent: str,
        remove: Remove | None = None,
        fetch_policy: FetchPolicy | None = None,
    ) -> None:
        self.job = job
        # Without the pipeline's moderation, a promoted copy of a deleted face waits for a moderator.
        self.remove = remove or (lambda job, keys: storage.remove_at_source(job.event_id, keys))
        self.storage = storage
        self.process = process
        self.make_collector = make_collector
        self.clock = clock
        self.user_agent = user_agent
        self.fetch_policy = fetch_policy
        self._collector: Collector | None = None  # kept between runs (e.g. a Bluesky session)
        self._collector_lock = threading.Lock()  # the poller and the source's streams share the collector
        # Set by the source's streams (aggregator/streams.py): True while every one is connected.
        self.stream_healthy: Callable[[], bool] | None = None
        self._lock = threading.Lock()
        self._last_recheck: datetime | None = None

    def context(self) -> SourceContext:
        ev = self.job.event
        return SourceContext(
            settings=self.job.source,
            hashtags=ev.source_hashtags(self.job.source),
            credentials=self.job.credentials,
            clock=self.clock,
            user_agent=self.user_agent,
            event_start=ev.utc(ev.start),
            source_name=self.job.name,
            fetch_policy=self.fetch_policy,
        )

    def collector(self) -> Collector:
        with self._collector_lock:
            if self._collector is None:
                self._collector = self.make_collector(self.context())
            return self._collector

    def interval(self) -> float:
        """Seconds to the next poll: slower while the source's streams deliver, usual otherwise."""
        healthy = self.stream_healthy
        if self.job.source.streaming and healthy is not None and healthy():
            return float(max(self.job.source.interval, self.job.source.stream_poll_interval))
        return float(self.job.source.interval)

    def close(self) -> None:
        if self._collector is not None:
            self._collector.close()
            self._collector = None

    def run(self, wait: bool = False) -> RunOutcome:
        # One run at a time per source, even if called from two places; `wait` queues behind a run
        # in progress (a stream's catch-up must start after the stream connected, not be skipped).
        if not self._lock.acquire(blocking=wait, timeout=120 if wait else -1):
            return RunOutcome(self.job, ok=False, error="already running")
        try:
            return self._run()
        finally:
            self._lock.release()

    def _run(self) -> RunOutcome:
        job = self.job
        stored = self.storage.source(job.event_id, job.name)
        failures = stored.consecutive_failures if stored else 0
        cursor = Cursor(stored.cursor_position, stored.etag, stored.last_modified) if stored else Cursor()
        interval = timedelta(seconds=self.interval())
        try:
            result = self.collector().fetch(cursor)
            report = self.process(job, result)
        except RateLimited as exc:
            now = self.clock()
            until = max(exc.reset_at, now + timedelta(seconds=1))
            self._record_failure(f"rate limited until {until:%H:%M:%S} UTC: {exc}", until, until)
            return RunOutcome(job, ok=False, error=str(exc), next_run_at=until, rate_limited_until=until)
        except (SourceError, StorageError) as exc:
            next_at = self.clock() + backoff_delay(self.interval(), failures)
            self._record_failure(str(exc), next_at)
            return RunOutcome(job, ok=False, error=str(exc), next_run_at=next_at)
        except Exception as exc:  # a bug in a collector must not stop the others
            log.exception("source.crashed source=%s/%s", job.event.slug, job.name)
            next_at = self.clock() + backoff_delay(job.source.interval, failures)
            message = f"internal error: {type(exc).__name__}: {exc}"
            self._record_failure(message, next_at)
            return RunOutcome(job, ok=False, error=message, next_run_at=next_at)
        removed = self._recheck_deletions()
        next_at = self.clock() + interval
        self.storage.record_source_schedule(job.source_id, next_at)
        log.info(
            "source.fetched source=%s/%s fetched=%d new=%d folded=%d unchanged=%d skipped=%d requests=%d",
            job.event.slug, job.name, result.fetched, report.inserted, report.folded, report.unchanged,
            result.fetched - len(result.posts), result.requests,
        )
        return RunOutcome(job, ok=True, report=report, fetched=result.fetched, next_run_at=next_at,
                          not_modified=result.not_modified, removed=removed, skipped=result.skipped)

    def _recheck_deletions(self) -> int:
        """Posts deleted at the source since we stored them: removed, tombstoned, retracted. Never fails a run.

        Asks about the newest posts and the next page of the sweep; the sweep's place moves on
        only when the platform answered, so an outage skips nothing and removes nothing.
        """
        collector = self._collector
        kind = self.job.source.kind
        newest_limit, sweep_limit = RECHECK_NEWEST.get(kind, 0), RECHECK_SWEEP.get(kind, 0)
        now = self.clock()
        if not isinstance(collector, DeletionChecker) or not (newest_limit or sweep_limit):
            return 0
        if self._last_recheck is not None and now - self._last_recheck < RECHECK_EVERY:
            return 0
        self._last_recheck = now
        job = self.job
        try:
            newest = self.storage.recheck_newest(job.event_id, job.source_id, now - RECHECK_WINDOW, newest_limit)
            stored = self.storage.source(job.event_id, job.name)
            after = (stored.recheck_position if stored else None) or 0
            page = self.storage.recheck_page(job.event_id, job.source_id, after, sweep_limit)
            ids = list(dict.fromkeys([*newest, *(ext for _, ext in page)]))
            gone = collector.check_deleted(ids) if ids else []
            # A short page ends the sweep: the next check starts again from the oldest post.
            position = page[-1][0] if len(page) == sweep_limit else None
            removed = self.remove(job, [PostKey(PLATFORM_OF_KIND[kind], g) for g in gone]) if gone else 0
            self.storage.record_recheck_position(job.source_id, position)
            if not removed:
                return 0
        except (SourceError, StorageError) as exc:
            log.info("source.recheck_skipped source=%s/%s error=%s", job.event.slug, job.name, exc)
            return 0
        log.info("source.deleted_at_source source=%s/%s removed=%d", job.event.slug, job.name, removed)
        return removed

    def _record_failure(self, message: str, next_at: datetime, until: datetime | None = None) -> None:
        log.warning("source.failed source=%s/%s error=%s", self.job.event.slug, self.job.name, message)
        try:
            self.storage.record_source_failure(self.job.source_id, message, next_at, until)
        except StorageError:
            log.exception("source.health_not_recorded source=%s", self.job.name)


def collect_once(runners: list[SourceRunner], workers: int = 8) -> list[RunOutcome]:
    """Run every source once, concurrently (a stalled source does not hold the others)."""
    if not runners:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(runners)), thread_name_prefix="collect") as pool:
        return list(pool.map(lambda r: r.run(), runners))


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    """Background work beside the collectors (the media job): run every `interval` seconds while leading."""

    name: str
    interval: float
    run: Callable[[], object]


@dataclass
class Scheduler:
    """APScheduler driving SourceRunners: one job per source, rescheduled by each outcome.

    With a leader lock, only the process holding it collects; the others wait as standbys
    and the first to take the lock after the leader dies carries on.
    """

    runners: list[SourceRunner]
    rng: random.Random = field(default_factory=random.Random)
    leader: LeaderLock | None = None
    streams: list[StreamRunner] = field(default_factory=list)  # started and stopped with the jobs
    standby_poll: float = 5.0  # seconds between a standby's tries, and the leader's liveness checks
    tasks: list[PeriodicTask] = field(default_factory=list)
    _scheduler: object | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _watch: threading.Thread | None = None
    _wake_lock: threading.Lock = field(default_factory=threading.Lock)
    _woken: set[str] = field(default_factory=set)  # job ids woken while their run was in progress

    @property
    def collecting(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        if self.leader is None:
            self._start_jobs()
            return
        self._stop.clear()
        self._watch = threading.Thread(target=self._lead_or_wait, name="scheduler-leader", daemon=True)
        self._watch.start()

    def _lead_or_wait(self) -> None:
        assert self.leader is not None
        while not self._stop.is_set():
            if self._scheduler is None:
                if self.leader.try_acquire():
                    log.info("scheduler.leading sources=%d", len(self.runners))
                    self._start_jobs()
                else:
                    log.debug("scheduler.standby")
            elif not self.leader.still_held():  # lost the database session: stop, then try again
                log.warning("scheduler.lost_leadership")
                self._stop_jobs()
            self._stop.wait(self.standby_poll)

    def _start_jobs(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor as APExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # A thread per source: a stall in one never queues another behind it.
        sched = BackgroundScheduler(
            executors={"default": APExecutor(max_workers=max(1, len(self.runners) + len(self.tasks)))},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone="UTC",
        )
        for runner in self.runners:
            first = runner.clock() + timedelta(seconds=self.rng.uniform(0, min(3.0, runner.job.source.interval)))
            sched.add_job(self._tick, "date", run_date=first, args=[runner], id=self._job_id(runner))
        for task in self.tasks:
            sched.add_job(self._run_task, "interval", seconds=task.interval, args=[task], id=f"task:{task.name}",
                          next_run_time=datetime.now(UTC))
        sched.start()
        self._scheduler = sched
        for stream in self.streams:
            stream.wake = self.wake
            stream.start()

    def wake(self, runner: SourceRunner) -> None:
        """Poll this source now (a stream connected or was lost); a run in progress is followed by another."""
        with self._wake_lock:
            self._woken.add(self._job_id(runner))
        sched = self._scheduler
        if sched is not None and getattr(sched, "running", False):
            sched.add_job(  # type: ignore[attr-defined]
                self._tick, "date", run_date=runner.clock(), args=[runner], id=self._job_id(runner),
                replace_existing=True,
            )

    @staticmethod
    def _run_task(task: PeriodicTask) -> None:
        try:
            task.run()
        except Exception:  # a failing task must not stop the scheduler
            log.exception("task.crashed task=%s", task.name)

    @staticmethod
    def _job_id(runner: SourceRunner) -> str:
        return f"{runner.job.event.slug}/{runner.job.name}"

    def _tick(self, runner: SourceRunner) -> None:
        with self._wake_lock:
            self._woken.discard(self._job_id(runner))
        outcome = runner.run(wait=True)
        next_at = outcome.next_run_at or runner.clock() + timedelta(seconds=runner.interval())
        if outcome.ok:  # jitter on the normal cadence; failures already carry theirs
            next_at += timedelta(seconds=self.rng.uniform(0, runner.interval() * MAX_JITTER))
        with self._wake_lock:
            if self._job_id(runner) in self._woken:  # woken while running: the wake's poll is still due
                next_at = runner.clock()
        sched = self._scheduler
        if sched is not None and getattr(sched, "running", False):
            sched.add_job(  # type: ignore[attr-defined]
                self._tick, "date", run_date=next_at, args=[runner], id=self._job_id(runner), replace_existing=True
            )

    def _stop_jobs(self) -> None:
        for stream in self.streams:
            stream.stop()
        sched = self._scheduler
        self._scheduler = None
        if sched is not None:
            # APScheduler 3 sets STOPPED outside its lock, so a shutdown racing with the pass that clears a
            # finished one-shot job makes that pass raise JobLookupError in the scheduler's thread. Pause
            # first (a new pass then does nothing), let a pass in flight finish (it holds the lock), then stop.
            with contextlib.suppress(Exception):  # not running any more: nothing to pause
                sched.pause()  # type: ignore[attr-defined]
            with sched._jobstores_lock:  # type: ignore[attr-defined]
                pass
            sched.shutdown(wait=False)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=10)
            self._watch = None
        self._stop_jobs()
        if self.leader is not None:
            self.leader.release()
        for runner in self.runners:
            runner.close()
