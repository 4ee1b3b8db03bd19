"""The one Jinja2 environment: autoescape everywhere; only sanitised fields are marked safe."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from aggregator.paths import templates_dir
from aggregator.pipeline.sanitise import safe_url


def local_time(value: datetime, tz: str, fmt: str = "%H:%M") -> str:
    """An aware UTC datetime shown in the event's timezone."""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    # Every URL a template puts in href/src goes through this: http(s) or our /media/ files, else None.
    env.filters["safe_media"] = safe_url
    return Jinja2Templates(env=env)
