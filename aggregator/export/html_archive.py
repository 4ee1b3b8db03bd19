"""The offline HTML archive's rendering: its own Jinja environment over templates/export/.

Same escaping as the live pages (autoescape; only the sanitised post HTML is
marked safe); links are relative (`root` is "" for top-level pages and "../"
one folder down); media are the bundle's own files, named by `MediaFiles`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from aggregator.paths import templates_dir
from aggregator.web import cards


def archive_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    cards.prepare(env)

    @pass_context
    def media(ctx: Context, url: str | None) -> str | None:
        """The bundle file for a platform URL, relative to the page; None when it was not kept."""
        name: Callable[[str | None], str | None] = ctx["media_name"]
        found = name(url)
        return f"{ctx['root']}{found}" if found else None

    env.globals["media"] = media
    return env


def render(env: Environment, name: str, values: Mapping[str, Any]) -> Iterator[str]:
    """One page as text. A page is at most one timeline page of cards, so it is rendered whole (faster
    than Jinja's generate(), which yields every few characters)."""
    yield env.get_template(name).render(**values)
