"""Live subscriptions on the server: one reader of the log's tail, many subscribers.

A subscriber costs no thread while it waits: it awaits an ``asyncio`` wake-up. One thread
per server blocks in the backend's ``wait_for_head_change`` (an in-process signal, or
PostgreSQL ``LISTEN``), reads the newly committed events once, converts them to wire
messages once, and keeps the most recent ones in memory (the tail). Every subscriber that
is caught up takes its next events from the tail, filtered by its target, so live delivery
costs one storage read per commit however many subscribers there are.

A subscriber further behind than the tail reaches reads storage itself, page by page, at
its own pace: a slow subscriber makes the server wait on flow control, never buffer.

Sequence numbers are assigned in commit order, so the tail is always a contiguous run of
the log, and a storage page read after the tail's end was seen holds every event of the
target up to that end: nothing is skipped, nothing sent twice.
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
from logicblocks.event.store.wire import record_to_wire
from logicblocks.event.types import identifier
from logicblocks.event.v1 import events_pb2

__all__ = ["CaughtUp", "Events", "Heartbeat", "LogTail", "follow"]

_log = logging.getLogger(__name__)

# How long the tail thread blocks in one wait: bounds how late stop() is noticed and how
# often the head is re-read when no notification arrives.
_WATCH_SLICE = 1.0
# The tail keeps at least this many recent events (and at most twice as many, or about
# _TAIL_BYTES of payload), enough for subscribers a little behind to be served from memory.
_TAIL_EVENTS = 4096
_TAIL_BYTES = 8 * 1024 * 1024
_READ_PAGE = 500


@dataclass(frozen=True, slots=True)
class Events:
    """The next events of the target, in sequence-number order, as wire messages."""

    events: Sequence[events_pb2.StoredEvent]


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Every event of the target up to ``checkpoint`` has been sent; live events follow."""

    checkpoint: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The subscription is idle; every event of the target up to ``checkpoint`` was sent."""

    checkpoint: int


def _matches(target: Scannable, record: EventRecord) -> bool:
    match target:
        case identifier.Log():
            return True
        case identifier.Category(category=category):
            return record.category == category
        case identifier.Stream(category=category, stream=stream):
            return record.category == category and record.stream == stream
    return False


class LogTail:
    """The most recent events of the log, shared by every subscription of one server.

    ``end`` is the greatest sequence number the tail has read (-1 for an empty store);
    every event up to it is committed and readable. The tail holds the events from
    ``first`` to ``end``, contiguously.
    """

    def __init__(self, adapter: RecordStorageAdapter):
        self._adapter = adapter
        self._records: list[tuple[EventRecord, events_pb2.StoredEvent]] = []
        self._bytes = 0
        self._first = 0
        self._end = -1
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.subscribers = 0

    @property
    def end(self) -> int:
        """The greatest sequence number read so far: a lower bound of the committed head."""
        return self._end

    @property
    def closed(self) -> bool:
        """Whether the server is shutting down: subscriptions should end."""
        return self._closed

    async def start(self) -> None:
        """Read the head and start following the log; call from the server's event loop."""
        self._loop = asyncio.get_running_loop()
        head = await asyncio.to_thread(self._adapter.head)
        self._end = -1 if head is None else head
        self._first = self._end + 1
        self._thread = threading.Thread(target=self._follow, name="log-tail", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Wake every waiting subscription so it ends; call from the event loop."""
        self._closed = True
        self._wake()

    def stop(self) -> None:
        """Stop the tail's thread.

        Not joined: it may be blocked in one wait slice, and whatever it reads after the
        adapter closes fails quietly and ends it.
        """
        self._stopping.set()

    def covers(self, cursor: int) -> bool:
        """Whether every event after ``cursor`` (up to ``end``) is in the tail."""
        return cursor >= self._first - 1

    def after(
        self, cursor: int, target: Scannable, limit: int
    ) -> tuple[list[events_pb2.StoredEvent], int]:
        """Up to ``limit`` events of ``target`` after ``cursor``, and how far it looked.

        The second value is the sequence number up to which the tail was examined: every
        event of the target up to it is in the first value. Requires ``covers(cursor)``.
        """
        found: list[events_pb2.StoredEvent] = []
        examined = cursor
        for record, wire in self._records[cursor + 1 - self._first :]:
            examined = record.sequence_number
            if _matches(target, record):
                found.append(wire)
                if len(found) == limit:
                    break
        return found, max(examined, cursor)

    async def wait_for_change(self, known_end: int, timeout: float) -> bool:
        """Wait until ``end`` moves past ``known_end``; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._end <= known_end and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _follow(self) -> None:
        known = self._end
        while not self._stopping.is_set():
            try:
                head = self._adapter.wait_for_head_change(
                    None if known < 0 else known, _WATCH_SLICE
                )
                if head is None or head <= known:
                    continue
                if self.subscribers == 0 or head - known > _TAIL_EVENTS:
                    # Nobody to serve, or too far to read: skip ahead; subscribers behind
                    # the tail read storage themselves.
                    known = head
                    self._publish([], head)
                    continue
                batch = self._read_after(known, head)
            except Exception as error:  # storage away: keep following, subscribers poll on
                if self._stopping.is_set():
                    return
                _log.warning("event=log_tail_failed error=%s", type(error).__name__)
                self._stopping.wait(_WATCH_SLICE)
                continue
            if batch:
                known = batch[-1][0].sequence_number
                self._publish(batch, known)

    def _read_after(
        self, known: int, head: int
    ) -> list[tuple[EventRecord, events_pb2.StoredEvent]]:
        batch: list[tuple[EventRecord, events_pb2.StoredEvent]] = []
        while known < head:
            page = list(
                self._adapter.read_records(
                    target=identifier.Log(), after_sequence_number=known, limit=_READ_PAGE
                )
            )
            if not page:
                break
            batch.extend((record, record_to_wire(record)) for record in page)
            known = page[-1].sequence_number
        return batch

    def _publish(self, batch: list[tuple[EventRecord, events_pb2.StoredEvent]], end: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._append, batch, end)

    def _append(self, batch: list[tuple[EventRecord, events_pb2.StoredEvent]], end: int) -> None:
        if end <= self._end:
            return
        if batch and batch[0][0].sequence_number == self._end + 1:
            self._records.extend(batch)
            self._bytes += sum(len(record.payload) for record, _ in batch)
        else:
            # A skip: the tail restarts after it, empty.
            self._records, self._bytes, self._first = [], 0, end + 1
        self._end = end
        self._trim()
        self._wake()

    def _trim(self) -> None:
        if len(self._records) > 2 * _TAIL_EVENTS:
            self._drop(len(self._records) - _TAIL_EVENTS)
        while self._bytes > _TAIL_BYTES and len(self._records) > 1:
            self._drop(len(self._records) // 2)

    def _drop(self, count: int) -> None:
        dropped, self._records = self._records[:count], self._records[count:]
        self._bytes -= sum(len(record.payload) for record, _ in dropped)
        self._first += count

    def _wake(self) -> None:
        # Wake everyone waiting on the current event, and give later waiters a fresh one.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


async def follow(
    *,
    adapter: RecordStorageAdapter,
    tail: LogTail,
    executor: Executor,
    target: Scannable,
    after_sequence_number: int | None,
    heartbeat_interval: float,
    page_size: int = _READ_PAGE,
) -> AsyncIterator[Events | CaughtUp | Heartbeat]:
    """The messages of one subscription: history, one ``CaughtUp``, then live events.

    ``after_sequence_number`` ``None`` starts at the current end of the log. Heartbeats
    come whenever nothing was sent for ``heartbeat_interval`` seconds. Ends when the tail
    is closed (the server is shutting down).
    """
    loop = asyncio.get_running_loop()

    def read_page(after: int) -> list[events_pb2.StoredEvent]:
        records = adapter.read_records(target=target, after_sequence_number=after, limit=page_size)
        return [record_to_wire(record) for record in records]

    cursor = tail.end if after_sequence_number is None else after_sequence_number
    caught_up = False
    last_sent = time.monotonic()
    tail.subscribers += 1
    try:
        while not tail.closed:
            end = tail.end
            if tail.covers(cursor):
                events, cursor = tail.after(cursor, target, page_size)
            else:
                # Read storage after the tail's end was seen: the page then holds every
                # event of the target up to that end.
                events = await loop.run_in_executor(executor, read_page, cursor)
                if events:
                    cursor = events[-1].sequence_number
                elif cursor < end:
                    cursor = end
            if events:
                yield Events(events)
                last_sent = time.monotonic()
                continue
            if cursor < tail.end:
                continue
            if not caught_up:
                caught_up = True
                yield CaughtUp(cursor)
                last_sent = time.monotonic()
            idle_for = time.monotonic() - last_sent
            if idle_for >= heartbeat_interval:
                yield Heartbeat(cursor)
                last_sent = time.monotonic()
                continue
            await tail.wait_for_change(cursor, heartbeat_interval - idle_for)
    finally:
        tail.subscribers -= 1
