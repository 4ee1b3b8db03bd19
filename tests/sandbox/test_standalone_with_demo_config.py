"""`aggregator sandbox` + `config/demo.toml` is the demo's world (issue 14.9).

The standalone sandbox used to serve the small feature scenario (#copro14, another YouTube
channel) while demo.toml follows the demo's day (#coprodscot, UCsandboxCoproduction0001): a
collection stored 8 posts and YouTube answered 404.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator import cli
from aggregator.clock import FakeClock
from aggregator.config import LoadedConfig, load_config
from aggregator.demo import sandbox_credentials
from aggregator.paths import config_dir
from aggregator.sandbox import Sandbox
from aggregator.sandbox.scenarios import DEMO_SCENARIO, resolve_scenario
from aggregator.scheduler import collect_once
from tests.collect.helpers import deployment

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def sandbox_scenario_of_the_cli(monkeypatch: pytest.MonkeyPatch) -> str:
    """The scenario `aggregator sandbox` (no options) would serve."""
    seen: dict[str, object] = {}
    monkeypatch.setattr("aggregator.sandbox.serve", lambda **kw: seen.update(kw))
    args = cli.build_parser().parse_args(["sandbox"])
    assert isinstance(args, argparse.Namespace)
    assert cli.cmd_sandbox(args) == 0
    assert isinstance(seen["scenario_path"], str)
    return seen["scenario_path"]


def test_standalone_sandbox_serves_the_demo_scenario(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name = sandbox_scenario_of_the_cli(monkeypatch)
    demo_default = cli.build_parser().parse_args(["demo"]).scenario
    assert name == demo_default == DEMO_SCENARIO

    sandbox_credentials()
    clock = FakeClock(NOW)
    with Sandbox(resolve_scenario(name), clock=clock, fast=True) as sb:
        # demo.toml names 127.0.0.1:8765; this sandbox listens on a free port: only that differs.
        text = (config_dir() / "demo.toml").read_text(encoding="utf-8").replace("http://127.0.0.1:8765", sb.base_url)
        path = tmp_path / "demo.toml"
        path.write_text(text, encoding="utf-8")
        cfg = load_config(path)
        cfg = LoadedConfig(cfg.path, cfg.settings, f"sqlite:///{tmp_path}/demo.db", cfg.secrets)
        with deployment(cfg, clock) as (_, col):
            outcomes = collect_once(col.runners)
            assert all(o.ok for o in outcomes), [(o.job.name, o.error) for o in outcomes if not o.ok]
            fetched = {o.job.name: o.fetched for o in outcomes}
            assert all(n > 0 for n in fetched.values()), fetched  # YouTube included: no 404
            stored = sum(o.report.inserted for o in outcomes if o.report)
    assert stored > 100  # the demo's day, not the 8 posts of the feature scenario
