"""What the web routes take from the app: its storage, its config, an event by slug (404 when unknown).

One place for these (issue 11 asks for typed FastAPI dependencies here; the older areas still keep
their own copies)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from aggregator.config import LoadedConfig
from aggregator.storage import EventRecord, Storage


def app_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def app_config(request: Request) -> LoadedConfig:
    cfg: LoadedConfig = request.app.state.cfg
    return cfg


def event_or_404(request: Request, slug: str) -> EventRecord:
    event = app_storage(request).event(slug)
    if event is None:
        raise HTTPException(404, f"no event {slug!r}")
    return event
