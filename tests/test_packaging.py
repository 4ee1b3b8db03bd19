"""The explicit package list in pyproject.toml must cover every folder that ships, and the wheel builds quietly."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from aggregator.paths import config_dir, templates_dir

ROOT = Path(__file__).resolve().parents[1]


def _folders(top: Path, name: str) -> set[str]:
    return {
        ".".join((name, *p.relative_to(top).parts))
        for p in (top, *top.rglob("*"))
        if p.is_dir() and "__pycache__" not in p.parts and any(f.is_file() for f in p.iterdir())
    }


def test_every_package_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    # Data-only folders count: setuptools warns "Package would be ignored" about any that is not listed.
    found = _folders(ROOT / "aggregator", "aggregator") | _folders(ROOT / "templates", "aggregator.templates")
    assert found | {"aggregator.bundled_config"} == listed
    assert config["package-dir"] == {"aggregator.templates": "templates", "aggregator.bundled_config": "config"}


def test_shipped_folders_are_found_from_a_checkout() -> None:
    assert templates_dir() == ROOT / "templates"
    assert config_dir() == ROOT / "config"


@pytest.mark.slow
def test_the_wheel_builds_without_warnings_and_ships_every_file(tmp_path: Path) -> None:
    # Build from a copy (setuptools writes build/ and *.egg-info/ next to the sources), in pip's
    # isolated build environment as `pip install` does (it fetches setuptools>=77 from the package index).
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        target = src / name
        if (ROOT / name).is_file() and not name.startswith((".venv", "data/")):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / name).read_bytes())
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "dist"),
         "-v", str(src)], capture_output=True, text=True, check=False)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "Package would be ignored" not in log
    assert "SetuptoolsDeprecationWarning" not in log
    wheel = next((tmp_path / "dist").glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("aggregator/templates/base.html", "aggregator/templates/console/queue.html",
                     "aggregator/static/common.css", "aggregator/data/starter.toml",
                     "aggregator/storage/migrations/env.py",
                     "aggregator/storage/migrations/versions/0001_initial_schema.py",
                     "aggregator/bundled_config/demo.toml"):
        assert expected in names
