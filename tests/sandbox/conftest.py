"""Fixtures: a sandbox on a loopback port with a hand-driven clock, and a requests session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox, default_scenario

START = datetime(2026, 4, 23, 9, 0, tzinfo=UTC)
X_TOKEN = "sandbox-x-bearer-token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    """Every post of the default scenario released (fast mode)."""
    with Sandbox(default_scenario(), clock=clock, fast=True) as sb:
        yield sb


@pytest.fixture
def live(clock: FakeClock) -> Iterator[Sandbox]:
    """The default scenario in real time at 60x: nothing released until the clock moves."""
    with Sandbox(default_scenario(), clock=clock, speed=60.0) as sb:
        yield sb


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s
