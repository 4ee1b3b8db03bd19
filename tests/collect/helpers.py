"""A deployment pointed at a running sandbox: config, storage and collection for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aggregator.clock import Clock
from aggregator.config import LoadedConfig, Settings
from aggregator.runtime import Collection, build_collection
from aggregator.sandbox import Sandbox
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.storage.schema import posts

SLUG = "sandbox-day"
SECRETS = {
    "X_TOKEN": "sandbox-x-bearer-token",
    "SKY_HANDLE": "reporter.bsky.social",
    "SKY_PASSWORD": "sandbox-app-password",
}
YOUTUBE_CHANNEL = "UCjointImprovementTeam01"
# The sandbox is on loopback (a random port): allowed explicitly, as a deployment would an intranet feed.
ALLOW_SANDBOX = {"hosts": ["127.0.0.1", "::1", "localhost"], "any_port": True}


def sources(sb: Sandbox, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every kind of source, each pointed at the sandbox; short deadlines keep fault tests quick."""
    p = {"timeout": timeout}
    return [
        {"kind": "x", "api_base": sb.url("x"), "credentials": {"bearer_token": "X_TOKEN"}, "params": p},
        {"kind": "mastodon", "name": "mastodon-a", "api_base": sb.url("mastodon/a"), "params": p},
        {"kind": "mastodon", "name": "mastodon-b", "api_base": sb.url("mastodon/b"), "params": p},
        {"kind": "bluesky", "api_base": sb.url("bluesky"),
         "credentials": {"identifier": "SKY_HANDLE", "app_password": "SKY_PASSWORD"}, "params": p},
        {"kind": "flickr", "api_base": sb.url("flickr"), "params": p},
        {"kind": "youtube", "api_base": sb.url("youtube"), "params": {"channel_id": YOUTUBE_CHANNEL, **p}},
        {"kind": "feed", "name": "blog", "params": {"url": sb.url("feed/blog.atom"), **p}},
    ]


def settings_for(sb: Sandbox, start: datetime, database_url: str, **moderation: Any) -> Settings:
    return Settings.model_validate({
        "server": {"database_url": database_url, "allow_private_fetch": ALLOW_SANDBOX},
        "events": [{
            "slug": SLUG,
            "title": "Sandbox day",
            "timezone": "Europe/London",
            "start": start,
            "end": start + timedelta(hours=10),
            "hashtags": list(sb.scenario.hashtags),
            "sources": sources(sb),
            "moderation": {"mode": "post", **moderation},
        }],
    })


def loaded(settings: Settings, path: Path | None = None) -> LoadedConfig:
    from aggregator.config import _resolve_secrets

    cfg_path = path or Path("test.toml")
    return LoadedConfig(cfg_path, settings, settings.server.database_url,
                        _resolve_secrets(settings, cfg_path, SECRETS))


@contextmanager
def deployment(cfg: LoadedConfig, clock: Clock) -> Iterator[tuple[Storage, Collection]]:
    storage = Storage(cfg.database_url, clock=clock)
    upgrade(storage.engine)
    storage.sync_config(cfg.settings)
    collection = build_collection(cfg, storage, clock)
    try:
        yield storage, collection
    finally:
        collection.close()
        storage.close()


def stored_keys(storage: Storage) -> list[tuple[str, str]]:
    with storage.read() as conn:
        return [(r.platform, r.external_id) for r in conn.execute(select(posts.c.platform, posts.c.external_id))]


def post_count(storage: Storage) -> int:
    with storage.read() as conn:
        return int(conn.execute(select(func.count()).select_from(posts)).scalar_one())
