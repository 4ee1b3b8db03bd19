"""One web worker of `aggregator serve --workers N`: uvicorn imports this in each worker process.

The supervising process has loaded the config, migrated the database and runs the collector
(behind the leader lock); it hands the config path and database URL down in the environment
(AGGREGATOR_CONFIG, DATABASE_URL). A worker only serves: its own storage, app and live hub.
"""

from __future__ import annotations

from fastapi import FastAPI

from aggregator.config import load_config
from aggregator.storage import Storage
from aggregator.web.app import create_app


def create_worker_app() -> FastAPI:
    cfg = load_config()
    return create_app(cfg, Storage(cfg.database_url))
