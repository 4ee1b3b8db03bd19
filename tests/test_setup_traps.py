"""No silent setup traps: paths beside the config file, loud `serve` warnings, no tracebacks for people."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli import main, serve_warnings
from aggregator.config import load_config, sqlite_beside
from aggregator.health import health, in_words
from aggregator.storage.records import SourceRecord

CONFIG = """
[server]
database_url = "sqlite:///data/event.db"

[[events]]
slug = "conf"
title = "Conf"
timezone = "Europe/London"
start = 2014-04-23T09:00:00
end = 2014-04-23T17:00:00
hashtags = ["conf"]

[[events.sources]]
kind = "mastodon"
name = "masto"
api_base = "http://127.0.0.1:9/mastodon"
"""


ENTRY = "import sys; from aggregator.cli import main; sys.exit(main())"  # as the `aggregator` script does


def _aggregator(*argv: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AGGREGATOR_CONFIG")}
    return subprocess.run([sys.executable, "-c", ENTRY, *argv], cwd=cwd, env=env, text=True,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, timeout=120, check=False)


def test_a_relative_sqlite_path_is_beside_the_config_file_from_any_folder(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "event", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "event.toml").write_text(CONFIG, encoding="utf-8")
    added = _aggregator("user", "add", "olga", "--role", "organiser", "--password-stdin", "--config", "event.toml",
                        cwd=home, stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    listed = _aggregator("user", "list", "--config", "../event/event.toml", cwd=elsewhere)
    assert listed.returncode == 0 and "1 user" in listed.stdout and "olga" in listed.stdout
    sources = _aggregator("sources", "--config", "../event/event.toml", cwd=elsewhere)
    assert sources.returncode == 0, sources.stderr
    assert str(home / "data" / "event.db") in sources.stdout
    assert "masto (Mastodon): not run yet" in sources.stdout
    assert not (elsewhere / "data").exists()


def test_sqlite_beside_leaves_other_urls_alone(tmp_path: Path) -> None:
    assert sqlite_beside("sqlite:///data/x.db", tmp_path) == f"sqlite:///{tmp_path / 'data' / 'x.db'}"
    for url in ("sqlite:////abs/x.db", "sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@h/db"):
        assert sqlite_beside(url, tmp_path) == url


def test_database_url_from_the_environment_is_not_moved(tmp_path: Path) -> None:
    (tmp_path / "event.toml").write_text(CONFIG, encoding="utf-8")
    cfg = load_config(tmp_path / "event.toml", environ={"DATABASE_URL": "sqlite:///rel.db"})
    assert cfg.database_url == "sqlite:///rel.db"


def test_user_add_without_a_terminal_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "event.toml").write_text(CONFIG, encoding="utf-8")
    proc = _aggregator("user", "add", "olga", "--role", "organiser", "--config", "event.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--password-stdin" in proc.stderr and "Traceback" not in proc.stderr


def test_a_slug_error_says_what_a_slug_may_contain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "event.toml"
    path.write_text(CONFIG.replace('slug = "conf"', 'slug = "My Conf!"'), encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "events[0].slug: 'My Conf!' is not a slug" in err
    assert "lower-case letters a-z, digits and hyphens" in err and "pattern" not in err


def test_serve_warns_about_a_missing_secret_key_and_a_public_url_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "event.toml").write_text(CONFIG, encoding="utf-8")
    cfg = load_config(tmp_path / "event.toml", environ={})
    warnings = serve_warnings(cfg, "127.0.0.1", 9000, {})
    assert any("AGGREGATOR_SECRET_KEY is not set" in w for w in warnings)
    assert any("server.public_url is http://127.0.0.1:8000" in w and "9000" in w for w in warnings)
    assert serve_warnings(cfg, "127.0.0.1", 8000, {"AGGREGATOR_SECRET_KEY": "x" * 32}) == []


NOW = datetime(2014, 4, 23, 10, 0, tzinfo=UTC)


def _source(**kw: object) -> SourceRecord:
    base: dict[str, object] = dict(
        id=1, event_id=1, name="masto", kind="mastodon", enabled=True, cursor_position=None, etag=None,
        last_modified=None, last_run_at=None, last_success_at=None, last_error_at=None, last_error=None,
        consecutive_failures=0, next_run_at=None, rate_limited_until=None, posts_collected=0)
    base.update(kw)
    return SourceRecord(**base)  # type: ignore[arg-type]


def test_health_says_not_run_yet_then_ok_then_failing_in_words() -> None:
    assert health(_source(), NOW).state == "not run yet"
    ok = health(_source(last_run_at=NOW, last_success_at=NOW, posts_collected=3), NOW)
    assert ok.state == "ok" and not ok.alarm and ok.error == ""
    once = health(_source(last_run_at=NOW, consecutive_failures=1, last_error="[Errno -3] Temporary failure in "
                                                                            "name resolution"), NOW)
    assert once.summary == "failed 1 time in a row" and "DNS" in once.error and not once.alarm
    twice = health(_source(last_run_at=NOW, consecutive_failures=2, last_error="HTTP 503"), NOW)
    assert twice.alarm and "server error" in twice.error
    limited = health(_source(last_run_at=NOW, consecutive_failures=1, last_error="rate limited",
                             rate_limited_until=NOW + timedelta(minutes=5)), NOW)
    assert limited.state == "rate limited"
    assert not health(_source(enabled=False, consecutive_failures=5), NOW).alarm
    assert in_words("something odd.") == "something odd"
