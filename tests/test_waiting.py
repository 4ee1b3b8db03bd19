import threading

import pytest

from tests.waiting import wait_until


def test_wait_until_returns_once_the_condition_holds() -> None:
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    wait_until(done.is_set, timeout=10)
    assert done.is_set()


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="the leader"):
        wait_until(lambda: False, timeout=0.05, what="the leader")
