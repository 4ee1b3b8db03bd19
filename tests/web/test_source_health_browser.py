"""A failing sandbox source shows on the console home after one poll, and a banner on every page after two."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.runtime import build_collection
from aggregator.sandbox import Fault, Sandbox, default_scenario
from aggregator.web.auth import hash_password
from tests.collect.helpers import ALLOW_SANDBOX
from tests.factories import EVENT_START, settings_dict
from tests.web.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(default_scenario(), clock=FakeClock(EVENT_START), fast=True) as sb:
        yield sb


@pytest.fixture
def live_settings(sandbox: Sandbox) -> Settings:
    data = settings_dict(sources=[{"kind": "mastodon", "name": "masto", "api_base": sandbox.url("mastodon/a"),
                                   "params": {"timeout": 5}}])
    data["server"] = {"allow_private_fetch": ALLOW_SANDBOX}  # the sandbox is on loopback
    return Settings.model_validate(data)


def test_a_failing_source_shows_on_the_console_home(live_server: LiveServer, browser_page: Any,
                                                    sandbox: Sandbox) -> None:
    live_server.storage.create_user("olga", hash_password(PASSWORD), "organiser", "Olga")
    sandbox.set_fault("mastodon", Fault("status", status=500))  # the sandbox's fault knob: until cleared
    collection = build_collection(live_server.cfg, live_server.storage, live_server.clock, hash_photos=False)
    [runner] = collection.runners
    page = browser_page
    try:
        page.goto(live_server.url("/console/login"))
        page.fill("input[name=username]", "olga")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/console/login'] button[type=submit]")
        page.wait_for_url("**/console")
        row = page.locator("table.sources tbody tr", has_text="masto")
        assert "not run yet" in row.inner_text()

        assert not runner.run().ok  # one poll
        page.reload()
        text = row.inner_text()
        assert "failed 1 time in a row" in text and "server error" in text and "never" in text
        assert page.locator(".alarm").count() == 0

        assert not runner.run().ok  # twice in a row: every console page says so
        page.goto(live_server.url(f"/console/{SLUG}/queue"))
        assert "masto" in page.inner_text(".alarm") and "failed 2 times in a row" in page.inner_text(".alarm")

        sandbox.clear_faults()
        assert runner.run().ok
        page.goto(live_server.url("/console"))
        assert page.locator(".alarm").count() == 0
        assert row.locator("td").first.inner_text() == "ok"
    finally:
        collection.close()
