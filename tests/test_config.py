"""Configuration: the shipped files are valid; every kind of mistake exits 2 naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "example.toml"
DEMO = ROOT / "config" / "demo.toml"

BASE = """
[[events]]
slug = "conf"
title = "Conf"
timezone = "Europe/London"
start = 2014-04-23T09:00:00
end = 2014-04-23T17:00:00
hashtags = ["conf"]
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, out, err = run(capsys, "check-config", "--config", str(EXAMPLE))
    assert code == 0, err
    assert "event coproduction-2014" in out and "mastodon-social (mastodon)" in out and out.endswith("ok\n")


def test_demo_config_is_valid_with_sandbox_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SANDBOX_X_TOKEN", "SANDBOX_BLUESKY_HANDLE", "SANDBOX_BLUESKY_PASSWORD"):
        monkeypatch.setenv(var, "sandbox")
    cfg = load_config(DEMO)
    assert all(s.base_url.startswith("http://127.0.0.1:8765") or s.params.get("url", "").startswith(
        "http://127.0.0.1:8765") for s in cfg.settings.events[0].sources)


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGGREGATOR_CONFIG", str(EXAMPLE))
    assert run(capsys, "check-config")[0] == 0


def test_database_url_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/x")
    assert load_config(EXAMPLE).database_url == "postgresql+psycopg://u@db/x"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (BASE.replace("hashtags", "hashtgas"), "events[0].hashtgas", "unknown key"),
        (BASE.replace("Europe/London", "Europe/Londn"), "events[0].timezone", "unknown timezone 'Europe/Londn'"),
        (BASE + '[[events.sources]]\nkind = "myspace"\n', "events[0].sources[0].kind", "'x', 'mastodon'"),
        (BASE.replace("end = 2014-04-23T17:00:00", 'end = "tomorrow"'), "events[0].end", "datetime"),
        (BASE.replace("end = 2014-04-23T17:00:00", "end = 2014-04-23T08:00:00"), "events[0]",
         "end must be after start"),
        (BASE + '[[events.sources]]\nkind = "x"\n', "events[0].sources[0].credentials.bearer_token",
         "required for an enabled x source"),
        (BASE + '[[events.sources]]\nkind = "x"\ncredentials = { bearer_token = "NOPE_NOT_SET" }\n',
         "events[0].sources[0].credentials.bearer_token", "NOPE_NOT_SET is not set"),
        (BASE + BASE, "events[1].slug", "used by another event"),
        (BASE + '[[events.sources]]\nkind = "feed"\n', "events[0].sources[0]", "needs params.url"),
        (BASE + "[events.moderation]\nmode = \"sometimes\"\n", "events[0].moderation.mode", "'pre' or 'post'"),
        (BASE + "[events.wall]\naccent_colour = \"red\"\n", "events[0].wall.accent_colour", "pattern"),
        ("[server]\ndatabase_url = 'sqlite://'\n", "events", "required key is missing"),
        ("this is = not toml [", "", "not valid TOML"),
    ],
)
def test_wrong_config_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    text: str, key: str, problem: str,
) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    path = write(tmp_path, text)
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 2
    assert f"{path}: {key}" in err
    assert problem in err
    assert "Traceback" not in err and out == ""


def test_missing_file_and_no_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "check-config", "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "file not found" in err
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)
    code, _, err = run(capsys, "check-config")
    assert code == 2 and "--config" in err


def test_disabled_source_needs_no_credentials(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '[[events.sources]]\nkind = "bluesky"\nenabled = false\n')
    assert load_config(path).settings.events[0].sources[0].enabled is False


def test_secrets_come_from_the_environment_only(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '[[events.sources]]\nkind = "x"\ncredentials = { bearer_token = "MY_X" }\n')
    cfg = load_config(path, environ={"MY_X": "s3cret"})
    assert cfg.secrets["conf/x"] == {"bearer_token": "s3cret"}
    with pytest.raises(ConfigError, match="unknown credential 'password'"):
        load_config(write(tmp_path, BASE + '[[events.sources]]\nkind = "x"\ncredentials = { password = "P" }\n'),
                    environ={})


def test_local_times_are_in_the_event_timezone(tmp_path: Path) -> None:
    ev = load_config(write(tmp_path, BASE)).settings.events[0]
    assert ev.utc(ev.start).isoformat() == "2014-04-23T08:00:00+00:00"  # BST


def test_source_names_default_to_kind(tmp_path: Path) -> None:
    ev = load_config(write(tmp_path, BASE + '[[events.sources]]\nkind = "flickr"\n[[events.sources]]\n'
                                            'kind = "flickr"\n')).settings.events[0]
    assert [ev.source_name(i) for i in range(2)] == ["flickr", "flickr-2"]


def test_init_writes_a_valid_starter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new.toml"
    assert run(capsys, "init", str(target))[0] == 0
    assert run(capsys, "check-config", "--config", str(target))[0] == 0
    code, _, err = run(capsys, "init", str(target))
    assert code == 2 and "--force" in err


def test_every_setting_is_documented() -> None:
    from aggregator.configdoc import SECTIONS, render_reference

    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert render_reference() in doc, "docs/configuration.md is stale: run python -m aggregator.configdoc"
    for _, model in SECTIONS:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no help text"
            assert f"| `{name}` |" in doc
