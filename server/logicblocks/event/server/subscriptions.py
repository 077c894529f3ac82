"""Live subscriptions on the server: one head watcher, many waiting subscribers.

A subscriber costs no thread while it waits: it awaits an ``asyncio`` wake-up. One thread
per server blocks in the backend's ``wait_for_head_change`` (an in-process signal, or
PostgreSQL ``LISTEN``) and wakes every subscriber when the head moves. A wake-up is only a
hint: each subscriber then reads its target from storage after the last event it sent, at
its own pace, so a slow subscriber makes the server wait on flow control, never buffer.
"""

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from logicblocks.event.store.adapters import RecordStorageAdapter, Scannable
from logicblocks.event.store.records import EventRecord

__all__ = ["CaughtUp", "Events", "HeadWatcher", "Heartbeat", "follow"]

_log = logging.getLogger(__name__)

# How long the watcher thread blocks in one wait: bounds how late stop() is noticed and
# how often the head is re-read when no notification arrives.
_WATCH_SLICE = 1.0


@dataclass(frozen=True, slots=True)
class Events:
    """The next records of the target, in sequence-number order."""

    records: Sequence[EventRecord]


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Every event of the target up to ``checkpoint`` has been sent; live events follow."""

    checkpoint: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The subscription is idle; every event of the target up to ``checkpoint`` was sent."""

    checkpoint: int


class HeadWatcher:
    """Tracks the store's head for every subscription of one server process."""

    def __init__(self, adapter: RecordStorageAdapter):
        self._adapter = adapter
        self._head = -1
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def head(self) -> int:
        """The head as last read from storage (-1 for an empty store).

        A lower bound of the committed head: every event up to it is readable.
        """
        return self._head

    async def start(self) -> None:
        """Read the head and start watching it; call from the server's event loop."""
        self._loop = asyncio.get_running_loop()
        head = await asyncio.to_thread(self._adapter.head)
        self._head = -1 if head is None else head
        self._thread = threading.Thread(target=self._watch, name="head-watcher", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        """Whether the server is shutting down: subscriptions should end."""
        return self._closed

    def close(self) -> None:
        """Wake every waiting subscription so it ends; call from the event loop."""
        self._closed = True
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def stop(self) -> None:
        """Stop the watcher thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=_WATCH_SLICE * 3)

    async def wait_for_change(self, known_head: int, timeout: float) -> bool:
        """Wait until the head moves past ``known_head``; False if ``timeout`` passed first."""
        if self._head != known_head:
            return True
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return self._head != known_head
        return True

    def _watch(self) -> None:
        known: int | None = None if self._head < 0 else self._head
        while not self._stopping.is_set():
            try:
                head = self._adapter.wait_for_head_change(known, _WATCH_SLICE)
            except Exception as error:  # storage away: keep watching, subscribers poll on
                _log.warning("event=head_watch_failed error=%s", type(error).__name__)
                self._stopping.wait(_WATCH_SLICE)
                continue
            if head is not None and head != known:
                known = head
                if self._loop is not None and not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(self._advance, head)

    def _advance(self, head: int) -> None:
        if head <= self._head:
            return
        self._head = head
        # Wake everyone waiting on the current event, and give later waiters a fresh one.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


async def follow(
    *,
    adapter: RecordStorageAdapter,
    watcher: HeadWatcher,
    executor: Executor,
    target: Scannable,
    after_sequence_number: int | None,
    heartbeat_interval: float,
    page_size: int = 500,
) -> AsyncIterator[Events | CaughtUp | Heartbeat]:
    """The messages of one subscription: history, one ``CaughtUp``, then live events.

    ``after_sequence_number`` ``None`` starts at the current head. Heartbeats come whenever
    nothing was sent for ``heartbeat_interval`` seconds. Ends when the watcher is closed.
    """
    loop = asyncio.get_running_loop()

    def read_page(after: int) -> list[EventRecord]:
        return list(
            adapter.read_records(target=target, after_sequence_number=after, limit=page_size)
        )

    if after_sequence_number is None:
        head = await loop.run_in_executor(executor, adapter.head)
        cursor = -1 if head is None else head
    else:
        cursor = after_sequence_number
    caught_up = False
    last_sent = time.monotonic()
    while not watcher.closed:
        # Read the head before the page: the page then holds every event of the target up
        # to that head, because sequence numbers follow commit order.
        head_before_read = watcher.head
        records = await loop.run_in_executor(executor, read_page, cursor)
        if records:
            cursor = records[-1].sequence_number
            yield Events(records)
            last_sent = time.monotonic()
            continue
        checkpoint = max(cursor, head_before_read)
        if not caught_up:
            caught_up = True
            yield CaughtUp(checkpoint)
            last_sent = time.monotonic()
        idle_for = time.monotonic() - last_sent
        if idle_for >= heartbeat_interval:
            yield Heartbeat(checkpoint)
            last_sent = time.monotonic()
            continue
        await watcher.wait_for_change(head_before_read, heartbeat_interval - idle_for)
