"""`aggregator user ...` (aggregator/cli_users.py), driven through an argparse parser as cli.py wires it."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from aggregator.cli import UsageError
from aggregator.cli_users import add_user_commands
from aggregator.storage import Storage
from aggregator.web.auth import verify_password

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.toml"


def _run(argv: list[str], stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="aggregator")
    add_user_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([*argv, "--config", str(CONFIG)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(stdin))
        return int(args.handler(args))


def test_user_commands(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert _run(["user", "add", "Org", "--role", "organiser", "--password-stdin"], "a good password\n") == 0
    assert "user.added" in capsys.readouterr().out
    with pytest.raises(UsageError, match="already exists"):
        _run(["user", "add", "org", "--role", "moderator", "--password-stdin"], "a good password\n")
    with pytest.raises(UsageError, match="8 characters"):
        _run(["user", "add", "mo", "--role", "moderator", "--password-stdin"], "short\n")
    assert _run(["user", "passwd", "org", "--password-stdin"], "another password\n") == 0
    assert _run(["user", "disable", "org"]) == 0
    with pytest.raises(UsageError, match="no user"):
        _run(["user", "disable", "nobody"])
    capsys.readouterr()
    assert _run(["user", "list"]) == 0
    out = capsys.readouterr().out
    assert "org" in out and "organiser" in out and "disabled" in out and "1 user" in out
    storage = Storage(db_url)
    try:
        user = storage.user_by_name("org")
        assert user is not None and user.disabled and verify_password(user.password_hash, "another password")
    finally:
        storage.close()
