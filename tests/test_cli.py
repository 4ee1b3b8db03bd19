"""The CLI: help everywhere, migrate creates and upgrades, errors are messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = list(sub.choices)  # type: ignore[union-attr]
    assert {"init", "check-config", "migrate"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert "usage: aggregator " + name in capsys.readouterr().out


def test_migrate_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    assert main(["migrate", "--config", str(ROOT / "config" / "example.toml")]) == 0
    assert main(["migrate", "--config", str(ROOT / "config" / "example.toml")]) == 0
    from alembic.script import ScriptDirectory

    from aggregator.storage.migrate import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"is at revision {head}" in capsys.readouterr().out


def test_migrate_on_postgres(pg_url: str, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["migrate", "--config", str(ROOT / "config" / "example.toml")]) == 0
    assert "postgresql+psycopg" in capsys.readouterr().out


def test_unreachable_database_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "aggregator.cli", "migrate", "--config", str(ROOT / "config" / "example.toml")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "database" in proc.stderr


def test_serve_with_workers_needs_a_shared_signing_key(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AGGREGATOR_SECRET_KEY", raising=False)
    assert main(["serve", "--config", str(ROOT / "config" / "example.toml"), "--workers", "2"]) != 0
    assert "AGGREGATOR_SECRET_KEY" in capsys.readouterr().err
