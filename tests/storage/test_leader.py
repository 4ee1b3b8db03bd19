"""One collecting process per database; a standby takes over when the leader goes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from aggregator.config import LoadedConfig
from aggregator.scheduler import Scheduler, SourceRunner, jobs_from_config
from aggregator.storage.engine import make_engine
from aggregator.storage.leader import LeaderLock
from aggregator.types import Cursor, FetchResult, IngestReport
from tests.conftest import pg_base_url
from tests.factories import make_settings, migrated_storage
from tests.waiting import wait_until


def test_one_leader_at_a_time(db_url: str) -> None:
    a, b = make_engine(db_url), make_engine(db_url)
    first, second = LeaderLock(a), LeaderLock(b)
    try:
        assert first.try_acquire() and first.try_acquire()  # re-entrant for its holder
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
        a.dispose()
        b.dispose()


def test_a_dead_leaders_lock_passes_to_the_standby(pg_url: str) -> None:
    a, b = make_engine(pg_url), make_engine(pg_url)
    leader, standby = LeaderLock(a), LeaderLock(b)
    admin = create_engine(pg_base_url())
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        pid = leader._conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.begin() as conn:  # the leader's machine vanishes: the server ends its session
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert not leader.still_held()
        assert standby.try_acquire()
    finally:
        leader.release()
        standby.release()
        a.dispose()
        b.dispose()
        admin.dispose()


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def fetch(self, cursor: Cursor) -> FetchResult:
        self.calls += 1
        return FetchResult((), cursor)

    def close(self) -> None:
        pass


def test_a_standby_scheduler_takes_over(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(sources=[{"kind": "mastodon", "name": "masto", "api_base": "http://127.0.0.1:9/a",
                                       "interval": 5}])
    cfg = LoadedConfig(tmp_path / "t.toml", settings, db_url, {})
    with migrated_storage(db_url, settings) as storage:
        storage.clock = lambda: datetime.now(UTC)

        def scheduler() -> tuple[Scheduler, Counting]:
            collector = Counting()
            runners = [SourceRunner(job, storage, lambda j, r: IngestReport(), lambda _c: collector,
                                    lambda: datetime.now(UTC), "t") for job in jobs_from_config(cfg, storage)]
            return Scheduler(runners, leader=LeaderLock(make_engine(db_url)), standby_poll=0.1), collector

        (one, c1), (two, c2) = scheduler(), scheduler()
        one.start()
        wait_until(lambda: one.collecting, what="the first scheduler to lead")
        two.start()
        try:
            wait_until(lambda: c1.calls > 0, timeout=6, what="the leader to collect")
            assert c1.calls >= 1 and c2.calls == 0 and one.collecting and not two.collecting
            one.stop()  # the leader goes away
            wait_until(lambda: c2.calls > 0, timeout=6, what="the standby to take over")
            assert two.collecting and c2.calls >= 1
        finally:
            one.stop()
            two.stop()
            for s in (one, two):
                assert s.leader is not None
                s.leader.engine.dispose()
