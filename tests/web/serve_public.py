"""Run the app in its own process, for tests that kill and restart the server.

    python -m tests.web.serve_public DB_URL PORT

Serves the settings of tests.factories.make_settings() over DB_URL (migrated
and synced here) on 127.0.0.1:PORT with the system clock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from aggregator.config import LoadedConfig
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.web.app import create_app
from tests.factories import make_settings


def main(db_url: str, port: int) -> None:
    settings = make_settings()
    storage = Storage(db_url)
    upgrade(storage.engine)
    storage.sync_config(settings)
    app = create_app(LoadedConfig(Path("test.toml"), settings, db_url, {}), storage, poll_interval=0.1)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
