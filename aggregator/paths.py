"""Where shipped files live, installed from a wheel or run from a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """Jinja2 templates: aggregator/templates in a wheel, the top-level templates/ in a checkout."""
    installed = PACKAGE / "templates"
    return installed if installed.is_dir() else PACKAGE.parent / "templates"


def static_dir() -> Path:
    return PACKAGE / "static"


def config_dir() -> Path:
    """The shipped example and demo configs: aggregator/bundled_config in a wheel, config/ in a checkout."""
    installed = PACKAGE / "bundled_config"
    return installed if installed.is_dir() else PACKAGE.parent / "config"
