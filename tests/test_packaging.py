"""The explicit package list in pyproject.toml must cover every package in the tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

from aggregator.paths import config_dir, templates_dir

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "aggregator").rglob("__init__.py")
        if "migrations" not in p.parts
    }
    assert found | {"aggregator.templates", "aggregator.bundled_config"} == listed
    assert config["package-dir"] == {"aggregator.templates": "templates", "aggregator.bundled_config": "config"}


def test_shipped_folders_are_found_from_a_checkout() -> None:
    assert templates_dir() == ROOT / "templates"
    assert config_dir() == ROOT / "config"
