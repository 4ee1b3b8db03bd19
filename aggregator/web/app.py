"""The web application: public surfaces, the JSON API and the console, on one FastAPI app.

`create_app` takes everything it uses (config, storage, clock, live hub), so
tests build an app over a temporary database and a fake clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from aggregator import __version__
from aggregator.clock import Clock, system_clock
from aggregator.config import LoadedConfig
from aggregator.live import LiveHub
from aggregator.media.index import MediaIndex
from aggregator.media.store import store_for
from aggregator.paths import static_dir
from aggregator.storage import Storage
from aggregator.web import api, auth, cards, console, docs, errors, exports, live_stream, public, reporter, site
from aggregator.web.security import SecurityHeaders
from aggregator.web.templating import make_templates


def create_app(
    cfg: LoadedConfig,
    storage: Storage,
    *,
    clock: Clock = system_clock,
    hub: LiveHub | None = None,
    poll_interval: float = 1.0,
) -> FastAPI:
    live_hub = hub or LiveHub(storage, poll_interval=poll_interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await live_hub.start()
        try:
            yield
        finally:
            await live_hub.stop()

    app = FastAPI(
        title="Event social-reporting aggregator",
        version=__version__,
        docs_url=None,  # served by web/docs.py from bundled assets (the CSP forbids CDNs and inline script)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.cfg = cfg
    app.state.storage = storage
    app.state.clock = clock
    app.state.hub = live_hub
    app.state.templates = make_templates()
    app.state.media_store = store_for(cfg.settings.server.media_dir)
    app.state.templates.env.globals["media_index"] = MediaIndex(storage)
    app.state.live_frames = live_stream.install(live_hub, storage, cards.prepare(app.state.templates.env), cfg, clock)

    embed_origins = tuple(o for ev in cfg.settings.events for o in ev.wall.embed_origins)
    app.add_middleware(
        SecurityHeaders, embed_origins=embed_origins, media_origins=cfg.settings.server.media_origins
    )
    app.add_middleware(site.HeadAsGet)
    if cfg.settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.settings.server.cors_origins),
            allow_methods=["GET"],
            allow_headers=["*"],
        )
    app.mount("/static", site.CachedStaticFiles(directory=str(static_dir())), name="static")

    # Each area owns its module and router; order matters only for overlapping paths (none).
    for area in (auth, console, reporter, api, exports, public, site, docs):
        app.include_router(area.router)
    errors.install(app)
    docs.mount_assets(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
