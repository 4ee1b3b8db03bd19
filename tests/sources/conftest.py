"""Fixtures for collector tests: a loopback server, a fixed clock, source contexts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.clock import FakeClock
from aggregator.config import SourceSettings
from aggregator.sources.base import SourceContext
from aggregator.sources.destination import LOOPBACK
from tests.sources.server import LocalServer

NOW = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)
EVENT_START = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)
UA = "event-aggregator-tests/0.1"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def make_ctx(
    kind: str,
    base_url: str,
    *,
    hashtags: tuple[str, ...] = ("demo26",),
    credentials: dict[str, str] | None = None,
    clock: FakeClock | None = None,
    event_start: datetime | None = EVENT_START,
    **settings: Any,
) -> SourceContext:
    src = SourceSettings.model_validate({"kind": kind, "api_base": base_url, **settings})
    return SourceContext(
        settings=src,
        hashtags=hashtags,
        credentials=credentials or {},
        clock=clock or FakeClock(NOW),
        user_agent=UA,
        event_start=event_start,
        fetch_policy=LOOPBACK,  # the test servers are on loopback: allowed explicitly
    )
