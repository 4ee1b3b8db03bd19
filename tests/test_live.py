"""The live hub: in order, none lost, none twice, across reconnects; slow clients dropped."""

from __future__ import annotations

import asyncio

import pytest

from aggregator.live import Dropped, LiveHub
from aggregator.storage import LiveEvent, Storage
from tests.factories import approved, make_post, migrated_storage, pending


def _ids(storage: Storage) -> tuple[int, int]:
    ev = storage.event("coproduction-2014")
    assert ev is not None
    src = storage.source(ev.id, "masto")
    assert src is not None
    return ev.id, src.id


async def _take(it: object, n: int, timeout: float = 5.0) -> list[LiveEvent]:
    out: list[LiveEvent] = []

    async def go() -> None:
        async for row in it:  # type: ignore[attr-defined]
            out.append(row)
            if len(out) == n:
                return

    await asyncio.wait_for(go(), timeout)
    return out


def test_live_rows_reach_subscribers_in_order(db_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        event_id, source_id = _ids(storage)
        hub = LiveHub(storage, poll_interval=30)  # a long poll: the in-process wake must do it
        await hub.start()
        try:
            stream = hub.subscribe(event_id)
            reader = asyncio.create_task(_take(stream, 6))
            await asyncio.sleep(0.05)
            for b in range(3):
                await asyncio.to_thread(storage.ingest, event_id, source_id,
                                        [approved(make_post(b * 2)), approved(make_post(b * 2 + 1)),
                                         pending(make_post(100 + b))], None)
            rows = await reader
            assert [r.kind for r in rows] == ["post.approved"] * 6
            assert [r.seq for r in rows] == sorted(r.seq for r in rows)
        finally:
            await hub.stop()

    with migrated_storage(db_url) as storage:
        asyncio.run(scenario(storage))


def test_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(db_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        event_id, source_id = _ids(storage)
        hub = LiveHub(storage, poll_interval=0.05)
        await hub.start()
        try:
            storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(5)], None)
            first = await _take(hub.subscribe(event_id, last_event_id=0), 3)
            # The client goes away after 3; meanwhile 4 more arrive.
            storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(5, 9)], None)
            rest = await _take(hub.subscribe(event_id, last_event_id=first[-1].seq), 6)
            seqs = [r.seq for r in first + rest]
            assert len(seqs) == len(set(seqs)) == 9
            assert seqs == sorted(seqs)
        finally:
            await hub.stop()

    with migrated_storage(db_url) as storage:
        asyncio.run(scenario(storage))


def test_slow_client_is_dropped_then_recovers(tmp_path: object) -> None:
    async def scenario(storage: Storage) -> None:
        event_id, source_id = _ids(storage)
        hub = LiveHub(storage, poll_interval=0.05, queue_size=3)
        await hub.start()
        try:
            stream = hub.subscribe(event_id)
            first = asyncio.create_task(anext(stream))
            await asyncio.sleep(0.05)
            storage.ingest(event_id, source_id, [approved(make_post(0))], None)
            got = [await first]
            # It read one and stalled while 10 more arrived: its queue (3) overflowed.
            storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(1, 11)], None)
            await asyncio.sleep(0.3)
            with pytest.raises(Dropped):
                async for row in stream:
                    got.append(row)
            assert hub.subscriber_count == 0
            # Reconnecting from its last id gets exactly the rest.
            rest = await _take(hub.subscribe(event_id, last_event_id=got[-1].seq), 11 - len(got))
            seqs = [r.seq for r in got + rest]
            assert len(seqs) == len(set(seqs)) == 11
            assert seqs == sorted(seqs)
        finally:
            await hub.stop()

    with migrated_storage(f"sqlite:///{tmp_path}/live.db") as storage:
        asyncio.run(scenario(storage))


def test_other_events_rows_are_not_delivered(tmp_path: object) -> None:
    async def scenario(storage: Storage) -> None:
        event_id, source_id = _ids(storage)
        hub = LiveHub(storage, poll_interval=0.05)
        await hub.start()
        try:
            storage.ingest(event_id, source_id, [approved(make_post(1))], None)
            rows = await _take(hub.subscribe(event_id, last_event_id=0), 1)
            assert rows[0].event_id == event_id
            with pytest.raises(TimeoutError):
                await _take(hub.subscribe(event_id + 1, last_event_id=0), 1, timeout=0.3)
        finally:
            await hub.stop()

    with migrated_storage(f"sqlite:///{tmp_path}/live.db") as storage:
        asyncio.run(scenario(storage))


def test_a_second_process_wakes_the_tailer_through_postgres_notify(pg_url: str) -> None:
    """Two Storage objects stand for two processes: writes through one reach the other's hub
    at once, without the poll (set to 30 s)."""

    async def scenario(reader: Storage, writer: Storage) -> None:
        event_id, source_id = _ids(writer)
        hub = LiveHub(reader, poll_interval=30)
        await hub.start()
        try:
            await asyncio.sleep(0.5)  # the listener thread connects
            task = asyncio.create_task(_take(hub.subscribe(event_id), 1, timeout=5))
            await asyncio.sleep(0.05)
            await asyncio.to_thread(writer.ingest, event_id, source_id, [approved(make_post(1))], None)
            assert len(await task) == 1
        finally:
            await hub.stop()

    with migrated_storage(pg_url) as writer:
        reader = Storage(pg_url)
        try:
            asyncio.run(scenario(reader, writer))
        finally:
            reader.close()


def test_stop_ends_even_while_wake_ups_keep_arriving(tmp_path: object) -> None:
    """Shutdown must not hang when a notification races with it (on Python 3.11 a cancel racing
    with the event could be swallowed and the tailer never ended)."""
    import threading
    import time

    async def scenario(storage: Storage) -> None:
        for _ in range(30):
            hub = LiveHub(storage, poll_interval=0.01)
            await hub.start()
            storm = threading.Event()

            def hammer(hub: LiveHub = hub, storm: threading.Event = storm) -> None:
                while not storm.is_set():
                    hub.notify()
                    time.sleep(0.0001)

            t = threading.Thread(target=hammer)
            t.start()
            await asyncio.sleep(0.02)
            began = time.monotonic()
            await asyncio.wait_for(hub.stop(), timeout=10)
            storm.set()
            t.join()
            assert time.monotonic() - began < 6

    with migrated_storage(f"sqlite:///{tmp_path}/stop.db") as storage:
        asyncio.run(scenario(storage))
