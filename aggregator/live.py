"""The live hub: one tailer per web process fans the live-event log out to walls.

The database is the log (storage/live.py appends rows in the same transaction
as each change). Here one asyncio task per process reads new rows and copies
each into the bounded queue of every client watching that event. It wakes:
- at once, in-process, when this process's Storage commits live rows;
- at once, across processes, on PostgreSQL NOTIFY (a listener thread);
- otherwise every `poll_interval` seconds (the fallback: SQLite shared by
  several processes, a missed notification).

A client that reconnects with Last-Event-ID is replayed the rows after it from
the table, then goes live; rows are delivered in seq order with none twice. A
client too slow to drain its queue is dropped and recovers the same way.

The tailer reads on its own thread through `tail_reader` when set (the web layer
reads the rows and their posts in one go and renders each row's SSE frame there,
once per process), hands the result to `accept` on the loop, then fans out. One
`keepalive` timer puts a KEEPALIVE marker in every queue: no per-client timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from aggregator.storage import LiveEvent, Storage, StorageError
from aggregator.storage.live import NOTIFY_CHANNEL

log = logging.getLogger("aggregator.live")

DEFAULT_QUEUE_SIZE = 512
REPLAY_BATCH = 500
KEEPALIVE: Final = "keepalive"  # queued by the keep-alive timer; a stream writes a comment for it

RECENT_ROWS = 4096  # rows kept in memory, so a reconnecting wall is replayed without a query
T = TypeVar("T")

QueueItem = LiveEvent | Literal["keepalive"] | None  # None: the subscriber was closed


class Dropped(Exception):
    """This subscriber fell too far behind and was disconnected; it should reconnect."""


@dataclass(eq=False)
class Subscriber:
    event_id: int
    queue: asyncio.Queue[QueueItem]
    dropped: bool = False
    last_seq: int = 0  # the last seq handed to this client


@dataclass
class LiveHub:
    storage: Storage
    poll_interval: float = 1.0
    queue_size: int = DEFAULT_QUEUE_SIZE
    keepalive: float = 0.0  # seconds between KEEPALIVE markers; 0: none
    # On the tailer's thread: (rows after seq, prepared data); on the loop, before the fan-out: accept.
    tail_reader: Callable[[int], tuple[list[LiveEvent], Any]] | None = None
    accept: Callable[[list[LiveEvent], Any], None] | None = None
    tail_closer: Callable[[], None] | None = None  # on the tailer's thread at stop (the reader's connection)
    _subscribers: dict[int, set[Subscriber]] = field(default_factory=dict)
    _last_seq: int = 0
    _recent: deque[LiveEvent] = field(default_factory=deque)
    _recent_floor: int = 0  # every row above this seq is in _recent (or newer than _last_seq)
    _executor: ThreadPoolExecutor | None = None
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _task: asyncio.Task[None] | None = None
    _keepalive_task: asyncio.Task[None] | None = None
    _listener: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    # ---- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping.clear()
        # The tailer's own thread: a storm of replays on the default executor cannot delay live rows.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="live-tail")
        self._last_seq = await self.blocking(self.storage.last_live_seq)
        self._recent.clear()
        self._recent_floor = self._last_seq
        self.storage.live_listeners.append(self.notify)
        if self.storage.dialect == "postgresql":
            self._listener = threading.Thread(target=self._listen_postgres, name="live-listen", daemon=True)
            self._listener.start()
        self._task = asyncio.create_task(self._tail(), name="live-tail")
        if self.keepalive > 0:
            self._keepalive_task = asyncio.create_task(self._keep_alive(), name="live-keepalive")

    async def stop(self) -> None:
        self._stopping.set()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive_task
            self._keepalive_task = None
        if self.notify in self.storage.live_listeners:
            self.storage.live_listeners.remove(self.notify)
        if self._task is not None:
            # Wake the tailer and let it see the flag. Cancellation alone is not enough on
            # Python 3.11: wait_for can swallow a cancel that races with the event being set
            # (a NOTIFY during shutdown), and the tailer would never end.
            if self._wake is not None:
                self._wake.set()
            done, _ = await asyncio.wait({self._task}, timeout=5)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        for sub in [s for subs in self._subscribers.values() for s in subs]:
            self._close(sub)
        self._subscribers.clear()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, 5)
            self._listener = None
        if self._executor is not None:
            if self.tail_closer is not None:
                with contextlib.suppress(Exception):
                    await self.blocking(self.tail_closer)
            self._executor.shutdown(wait=False)
            self._executor = None

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) on the tailer's thread (reads and renders of the live path)."""
        if self._executor is None:
            return await asyncio.to_thread(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def notify(self) -> None:
        """Wake the tailer; safe from any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(wake.set)

    # ---- tailing ----------------------------------------------------------------------------------

    async def _tail(self) -> None:
        assert self._wake is not None
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await self.poll_once()
            except StorageError as exc:  # keep tailing; the database may come back
                log.warning("live.poll_failed error=%s", exc)

    async def poll_once(self) -> int:
        """Read new rows and fan them out; returns how many."""
        total = 0
        while True:
            rows, prepared = await self.blocking(self._read, self._last_seq)
            if rows and self.accept is not None:
                try:
                    self.accept(rows, prepared)
                except Exception:  # a client renders what is missing itself; keep tailing
                    log.exception("live.accept_failed")
            for row in rows:
                self._fan_out(row)
                self._last_seq = row.seq
                self._recent.append(row)
            while len(self._recent) > RECENT_ROWS:
                self._recent_floor = self._recent.popleft().seq
            total += len(rows)
            if len(rows) < REPLAY_BATCH:
                return total

    def _read(self, seq: int) -> tuple[list[LiveEvent], Any]:
        if self.tail_reader is not None:
            return self.tail_reader(seq)
        return self.storage.live_after(seq, None, REPLAY_BATCH), None

    def _fan_out(self, row: LiveEvent) -> None:
        for sub in list(self._subscribers.get(row.event_id, ())):
            try:
                sub.queue.put_nowait(row)
            except asyncio.QueueFull:
                log.info("live.client_dropped event=%s behind_at=%s", row.event_id, row.seq)
                self._close(sub)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive)
            for subs in list(self._subscribers.values()):
                for sub in list(subs):
                    with contextlib.suppress(asyncio.QueueFull):  # a full queue is not idle
                        sub.queue.put_nowait(KEEPALIVE)

    def close(self, sub: Subscriber) -> None:
        """Disconnect a subscriber (its stream sees the end marker); idempotent."""
        if not sub.dropped:
            self._close(sub)

    def _close(self, sub: Subscriber) -> None:
        sub.dropped = True
        self._subscribers.get(sub.event_id, set()).discard(sub)
        # Empty the queue, then the end marker: delivering part of what is queued could
        # leave a gap. The client reconnects from the last row it really got and is replayed.
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)

    def _listen_postgres(self) -> None:
        """LISTEN for other processes' commits; reconnects until stopped."""
        import psycopg

        url = self.storage.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stopping.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.notify()
            except psycopg.Error as exc:
                log.warning("live.listen_failed error=%s", exc)
                self._stopping.wait(2.0)

    # ---- subscribing ------------------------------------------------------------------------------

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def watching(self, event_id: int) -> bool:
        return bool(self._subscribers.get(event_id))

    def register(self, event_id: int) -> Subscriber:
        """A subscriber that receives every row tailed from now on (seqs above `last_seq`).

        Register before replaying from the table, so nothing committed during the replay is
        missed; skip rows at or below the last seq sent. `unregister` when done."""
        sub = Subscriber(event_id, asyncio.Queue(self.queue_size), last_seq=self._last_seq)
        self._subscribers.setdefault(event_id, set()).add(sub)
        return sub

    def recent_after(self, event_id: int, seq: int) -> list[LiveEvent] | None:
        """An event's rows after seq up to the last one tailed, from memory; None when memory does
        not reach back that far (read the table). With `register`, no await in between."""
        if seq < self._recent_floor:
            return None
        return [r for r in self._recent if r.seq > seq and r.event_id == event_id]

    def unregister(self, sub: Subscriber) -> None:
        self._subscribers.get(sub.event_id, set()).discard(sub)

    async def subscribe(self, event_id: int, last_event_id: int | None = None) -> AsyncIterator[LiveEvent]:
        """Rows for one event after `last_event_id` (replayed from the table), then live ones, in order.

        Ends by raising Dropped if the client fell behind; it should reconnect with its last id.
        """
        sub = self.register(event_id)
        try:
            if last_event_id is not None:
                sub.last_seq = last_event_id
                while True:
                    rows = await asyncio.to_thread(self.storage.live_after, sub.last_seq, event_id, REPLAY_BATCH)
                    for row in rows:
                        sub.last_seq = row.seq
                        yield row
                    if len(rows) < REPLAY_BATCH:
                        break
            while True:
                item = await sub.queue.get()
                if item is None:
                    raise Dropped(f"client fell behind at seq {sub.last_seq}")
                if item == KEEPALIVE or not isinstance(item, LiveEvent) or item.seq <= sub.last_seq:
                    continue
                sub.last_seq = item.seq
                yield item
        finally:
            self.unregister(sub)
