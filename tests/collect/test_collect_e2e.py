"""Collecting against the sandbox, end to end: exactly once, crash-safe, and isolated from faults."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.clock import FakeClock
from aggregator.sandbox import Fault, Sandbox, default_scenario
from aggregator.sandbox.scenario import ScenarioPost
from aggregator.scheduler import collect_once
from aggregator.storage import Storage
from aggregator.types import Status
from tests.collect.helpers import SECRETS, deployment, loaded, post_count, settings_for, stored_keys
from tests.corpora import XML_ATTACKS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAG = re.compile(r"#(\w+)")


def searchable(p: ScenarioPost, followed: set[str], by_id: dict[str, ScenarioPost]) -> bool:
    """Would the real APIs return this post to a hashtag search? (The sandbox follows them.)"""
    if p.repost_of and p.platform in ("mastodon", "bluesky"):
        return False  # tag timelines and searchPosts never contain boosts or reposts
    if p.visibility not in ("", "public"):
        return False  # unlisted statuses stay out of tag timelines
    if p.platform in ("youtube", "feed"):
        return True  # a channel's feed / a blog feed: everything
    if p.repost_of:  # a retweet's text is "RT @user: " + the original's
        return searchable(by_id[p.repost_of], followed, by_id)
    tags = {t.lower() for t in (*p.hashtags, *TAG.findall(p.text))}
    return bool(tags & followed)


def expected_ids(sb: Sandbox) -> set[str]:
    followed = set(sb.scenario.hashtags)
    released = set(sb.status()["released"])
    by_id = {p.id: p for p in sb.scenario.posts}
    return {p.id for p in sb.scenario.posts if p.id in released and searchable(p, followed, by_id)}


def stored_scenario_ids(sb: Sandbox, storage: Storage) -> list[str]:
    """Scenario post ids found in storage (one entry per stored row that matches a scenario post)."""
    keys = stored_keys(storage)
    out = []
    for pid in sb.status()["released"]:
        ids = {v for v in sb.ids(pid).values() if isinstance(v, str)}
        # generic feed keys are namespaced by the source: "<source name>|<entry id>"
        out += [pid for platform, ext in keys if (ext.split("|", 1)[-1] if platform == "feed" else ext) in ids]
    return out


def test_collect_once_stores_the_scenario_exactly_once(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=2), f"sqlite:///{tmp_path}/e.db"))
        with deployment(cfg, clock) as (storage, col):
            first = collect_once(col.runners)
            assert all(o.ok for o in first), [o.error for o in first if not o.ok]
            got = stored_scenario_ids(sb, storage)
            assert sorted(got) == sorted(expected_ids(sb))  # every one, none twice
            assert len(got) == post_count(storage)  # and nothing else

            second = collect_once(col.runners)
            assert all(o.ok and o.report and o.report.inserted == 0 for o in second)
            assert sorted(stored_scenario_ids(sb, storage)) == sorted(got)
            # Source health is recorded.
            for s in storage.sources():
                assert s.last_success_at == NOW and s.consecutive_failures == 0 and s.next_run_at is not None


def test_crash_before_commit_then_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """The scenario plays over (fake) time; some runs die after fetching, before committing."""
    clock = FakeClock(NOW)
    start = NOW + timedelta(seconds=1)
    with Sandbox(default_scenario(), clock=clock, speed=60.0, start=start) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=1), f"sqlite:///{tmp_path}/crash.db"))
        with deployment(cfg, clock) as (storage, col):
            crashes = 0
            for step in range(12):
                clock.advance(20)  # 20 s real = 20 min of the scenario at 60x
                if step % 3 == 1:
                    crashed = threading.local()

                    def crash(_conn: object, crashed: threading.local = crashed) -> None:
                        # The ingest transaction dies; the health write that follows in the thread does not.
                        if not getattr(crashed, "done", False):
                            crashed.done = True
                            raise RuntimeError("killed between fetch and commit")

                    storage.before_commit = crash
                outcomes = collect_once(col.runners)
                storage.before_commit = None
                crashes += sum(1 for o in outcomes if not o.ok)
            assert crashes > 0
            clock.advance(3600)
            for _ in range(2):  # catch up (bounded pages per run)
                assert all(o.ok for o in collect_once(col.runners))
            got = stored_scenario_ids(sb, storage)
            assert len(got) == len(set(got)) == post_count(storage)
            # A post deleted at its source before any run saw it is rightly never collected.
            gone = {p.id for p in sb.scenario.posts if p.deleted_at is not None}
            assert set(got) - gone == expected_ids(sb) - gone


def test_a_process_killed_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """A real `aggregator collect --once` is SIGKILLed while one source stalls; a restart completes."""
    with Sandbox(default_scenario(), fast=True) as sb:
        db = tmp_path / "killed.db"
        settings = settings_for(sb, datetime.now(UTC) - timedelta(hours=1), f"sqlite:///{db}")
        config = tmp_path / "event.toml"
        config.write_text(_toml(settings.model_dump(mode="json", exclude_defaults=True)))
        env = {**os.environ, **SECRETS, "DATABASE_URL": f"sqlite:///{db}"}
        cmd = [sys.executable, "-m", "aggregator.cli", "collect", "--once", "--config", str(config)]
        sb.set_fault("mastodon/b", Fault("stall", seconds=60))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            storage = Storage(f"sqlite:///{db}")
            while time.monotonic() < deadline:  # wait until the other sources have committed
                if db.exists() and _committed_sources(storage) >= 5:
                    break
                time.sleep(0.1)
            assert _committed_sources(storage) >= 5
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
            assert proc.stdout and proc.stderr
            proc.stdout.close()
            proc.stderr.close()
        sb.clear_faults()
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        got = stored_scenario_ids(sb, storage)
        assert len(got) == len(set(got)) == post_count(storage)
        assert set(got) == expected_ids(sb)
        storage.close()


def _committed_sources(storage: Storage) -> int:
    try:
        return sum(1 for s in storage.sources() if s.last_success_at is not None)
    except Exception:  # not migrated yet
        return 0


def _toml(data: object, prefix: str = "") -> str:
    """Just enough TOML for a settings dump (tables, arrays of tables, scalars, inline tables)."""
    import json

    def scalar(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {scalar(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    assert isinstance(data, dict)
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tables += [f"\n[[{prefix}{k}]]\n" + _toml(x, f"{prefix}{k}.") for x in v]
        elif isinstance(v, dict) and k not in ("credentials", "params"):
            tables.append(f"\n[{prefix}{k}]\n" + _toml(v, f"{prefix}{k}."))
        else:
            lines.append(f"{k} = {scalar(v)}")
    return "\n".join(lines) + "".join(tables) + "\n"


FAULTS = [
    ("x", Fault("status", status=429), r"rate limited|429"),
    ("mastodon/a", Fault("status", status=429), r"rate limited|429"),
    ("bluesky", Fault("status", status=429, match="searchPosts"), r"rate limited|429"),
    ("flickr", Fault("status", status=500), r"HTTP 500"),
    ("mastodon/b", Fault("stall", seconds=30), r"timed out|deadline"),
    ("youtube", Fault("huge", size=50_000_000), r"over|too large|MB"),
    ("mastodon/a", Fault("malformed"), r"malformed|JSON"),
    ("flickr", Fault("html"), r"not a feed|HTML"),
]


@pytest.mark.parametrize(("prefix", "fault", "message"), FAULTS, ids=[f"{p}-{f.kind}{f.status}" for p, f, _ in FAULTS])
def test_a_faulty_platform_fails_alone_with_a_clear_error(
    tmp_path: Path, prefix: str, fault: Fault, message: str
) -> None:
    clock = FakeClock(NOW)
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=2), f"sqlite:///{tmp_path}/f.db"))
        sb.set_fault(prefix, fault)
        with deployment(cfg, clock) as (storage, col):
            began = time.monotonic()
            outcomes = collect_once(col.runners)
            assert time.monotonic() - began < 15  # the 30 s stall is cut at the source's 5 s deadline
            broken = {o.job.name for o in outcomes if not o.ok}
            expected_broken = {o.job.name for o in outcomes if o.job.source.base_url.endswith("/" + prefix)}
            assert broken == expected_broken, [(o.job.name, o.error) for o in outcomes]
            for o in outcomes:
                if o.ok:  # (a post federated to both instances is new for only one of them)
                    assert o.report is not None and o.fetched > 0, o.job.name
                else:
                    assert re.search(message, o.error, re.I), o.error
            by_name = {s.name: s for s in storage.sources()}
            for name in broken:
                health = by_name[name]
                assert health.consecutive_failures == 1 and health.last_error and health.next_run_at
                if fault.status == 429:
                    assert health.rate_limited_until is not None and health.rate_limited_until > NOW


CORPUS = XML_ATTACKS


@pytest.mark.parametrize("attack", sorted(p.name for p in CORPUS.glob("*.xml")))
def test_hostile_xml_fails_the_feed_and_nothing_else(tmp_path: Path, attack: str) -> None:
    clock = FakeClock(NOW)
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        cfg = loaded(settings_for(sb, NOW - timedelta(hours=2), f"sqlite:///{tmp_path}/x.db"))
        sb.set_fault("feed", Fault("file", path=str(CORPUS / attack), content_type="application/atom+xml"))
        with deployment(cfg, clock) as (storage, col):
            began = time.monotonic()
            outcomes = collect_once(col.runners)
            assert time.monotonic() - began < 15
            failed = [o for o in outcomes if not o.ok]
            assert [o.job.name for o in failed] == ["blog"]
            assert failed[0].error
            assert storage.count_by_status(col.runners[0].job.event_id).get(Status.APPROVED, 0) > 20


def test_cli_collect_and_sources_report_per_source(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.cli import main

    with Sandbox(default_scenario(), fast=True) as sb:
        settings = settings_for(sb, datetime.now(UTC) - timedelta(hours=1), f"sqlite:///{tmp_path}/cli.db")
        config = tmp_path / "event.toml"
        config.write_text(_toml(settings.model_dump(mode="json", exclude_defaults=True)))
        for k, v in SECRETS.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
        sb.set_fault("flickr", Fault("status", status=503))
        assert main(["collect", "--once", "--config", str(config)]) == 1  # one source failed
        out = capsys.readouterr().out
        report = re.compile(
            r"^sandbox-day/([\w-]+): fetched (\d+), stored (\d+), folded as duplicates (\d+), updated \d+, "
            r"already had \d+, tombstoned \d+, skipped (\d+)", re.MULTILINE
        )
        lines = {m.group(1): [int(g) for g in m.groups()[1:]] for m in report.finditer(out)}
        assert set(lines) == {"x", "mastodon-a", "mastodon-b", "bluesky", "youtube", "blog"}, out
        assert sum(v[2] for v in lines.values()) > 0  # the scenario's cross-posts are reported as folded
        assert all(v[0] >= v[1] + v[2] + v[3] for v in lines.values())
        assert "sandbox-day/flickr: FAILED: HTTP 503" in out
        assert "6 of 7 sources collected" in out
        assert main(["sources", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        # The console's wording (aggregator.health): state, the error in words, then as reported.
        # (a 503 that says when to come back counts as a rate limit)
        assert re.search(r"flickr \(Flickr\): (failed 1 time in a row|rate limited)", out)
        assert "last error at" in out and "HTTP 503" in out
        assert re.search(r"x \(X\): ok; posts stored \d+", out)
        assert main(["collect", "--once", "--source", "nope", "--config", str(config)]) == 1
