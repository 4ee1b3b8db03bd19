"""An app over SQLite or PostgreSQL for the public-surface tests, with uploads under a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aggregator.clock import FakeClock
from aggregator.config import LoadedConfig, Settings
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.storage.moderation import Actor
from tests.factories import EVENT_START, settings_dict
from tests.web.conftest import ConsoleEnv

SLUG = "coproduction-2014"
ACTOR = Actor(None, "test-moderator")


def public_settings(media_dir: Path, server: dict[str, Any] | None = None, **event: Any) -> Settings:
    data = settings_dict(**event)
    data["server"] = {"media_dir": str(media_dir), **(server or {})}
    return Settings.model_validate(data)


@contextmanager
def public_env(db_url: str, tmp_path: Path, *, server: dict[str, Any] | None = None,
               **event: Any) -> Iterator[ConsoleEnv]:
    from aggregator.web.app import create_app

    clock = FakeClock(EVENT_START + timedelta(hours=1))
    settings = public_settings(tmp_path / "media", server, **event)
    storage = Storage(db_url, clock=clock)
    upgrade(storage.engine)
    ids = storage.sync_config(settings)
    cfg = LoadedConfig(tmp_path / "config.toml", settings, db_url, {})
    app = create_app(cfg, storage, clock=clock, poll_interval=0.2)
    env = ConsoleEnv(storage, clock, app, ids[SLUG], SLUG)
    try:
        yield env
    finally:
        env.close()
        storage.close()


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    p.close()
    return p
