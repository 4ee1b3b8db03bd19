"""Live messages are computed once per row and shared by every wall sending it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aggregator.web.public import SharedMessages
from tests.waiting import wait_until


def test_concurrent_walls_share_one_computation() -> None:
    calls = 0
    gate = threading.Event()

    def make() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        gate.wait(2)  # slow, so the others arrive while it runs
        return {"kind": "post.approved", "post_id": 1}

    shared = SharedMessages(ttl=5)
    with ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(shared.get, (1, 7), make) for _ in range(50)]
        wait_until(lambda: calls == 1, what="the first caller to start computing")
        gate.set()
        results = [f.result() for f in futures]
    assert calls == 1 and all(r == {"kind": "post.approved", "post_id": 1} for r in results)
    assert shared.get((1, 8), lambda: None) is None  # another row: its own message
    assert calls == 1


def test_messages_expire_and_failures_are_not_kept() -> None:
    shared = SharedMessages(ttl=0.05)
    assert shared.get((1, 1), lambda: {"n": 1}) == {"n": 1}
    time.sleep(0.06)
    assert shared.get((1, 1), lambda: {"n": 2}) == {"n": 2}

    def boom() -> dict[str, Any]:
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        shared.get((1, 2), boom)
    assert shared.get((1, 2), lambda: {"n": 3}) == {"n": 3}
