"""The log's tail: the most recent events, read once per commit and kept for subscribers.

One thread per server blocks in the backend's ``wait_for_head_change`` (an in-process
signal, or PostgreSQL ``LISTEN``), reads the newly committed events once, converts them to
wire messages once, and keeps the most recent ones in memory, bounded by count and by
bytes. Subscribers that are caught up take their next events from here, filtered by their
target (``subscriptions.follow``), so live delivery costs one storage read per commit
however many subscribers there are. Sequence numbers are assigned in commit order, so the
tail is always a contiguous run of the log.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from logicblocks.event.storage.engine import RecordStorageAdapter, payload_bytes, within_bytes
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types import identifier
from logicblocks.event.v1 import events_pb2

from .wire import record_to_wire

__all__ = ["READ_PAGE", "READ_PAGE_BYTES", "LogTail"]

_log = logging.getLogger(__name__)

# How long the tail thread blocks in one wait: bounds how late stop() is noticed and how
# often the head is re-read when no notification arrives.
_WATCH_SLICE = 1.0
# The tail keeps at least this many recent events (and at most twice as many, or about
# _TAIL_BYTES of payload), enough for subscribers a little behind to be served from memory.
_TAIL_EVENTS = 4096
_TAIL_BYTES = 8 * 1024 * 1024
# Events, and payload bytes, in one page read from storage, by the tail or a subscriber.
READ_PAGE = 500
READ_PAGE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    """One event of the tail: its wire form and what matching and accounting need.

    The record itself is not kept: its payload would be a second copy of the wire one.
    """

    sequence_number: int
    category: str
    stream: str
    size: int
    wire: events_pb2.StoredEvent

    @classmethod
    def of(cls, record: EventRecord) -> "_Entry":
        return cls(
            record.sequence_number,
            record.category,
            record.stream,
            payload_bytes(record),
            record_to_wire(record),
        )


def _entry_size(entry: _Entry) -> int:
    return entry.size


def _matches(target: Scannable, entry: _Entry) -> bool:
    match target:
        case identifier.Log():
            return True
        case identifier.Category(category=category):
            return entry.category == category
        case identifier.Stream(category=category, stream=stream):
            return entry.category == category and entry.stream == stream
    return False


class LogTail:
    """The most recent events of the log, shared by every subscription of one server.

    ``end`` is the greatest sequence number the tail has read (-1 for an empty store);
    every event up to it is committed and readable. The tail holds the events from
    ``first`` to ``end``, contiguously. ``on_storage_error``, if given, is told (with
    ``"unavailable"``) each time reading the log fails.
    """

    def __init__(
        self,
        adapter: RecordStorageAdapter,
        on_storage_error: Callable[[str], None] | None = None,
    ):
        self._adapter = adapter
        self._on_storage_error = on_storage_error
        self._records: list[_Entry] = []
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
        self._end = await asyncio.to_thread(self._adapter.head)
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
        self, cursor: int, target: Scannable, limit: int, max_bytes: int = READ_PAGE_BYTES
    ) -> tuple[list[events_pb2.StoredEvent], int]:
        """Up to ``limit`` events of ``target`` after ``cursor``, and how far it looked.

        The events hold about ``max_bytes`` of payload, as a page read from storage
        (``within_bytes``). The second value is the sequence number up to which the tail
        was examined: every event of the target up to it is in the first value. Requires
        ``covers(cursor)``.
        """
        examined = cursor

        def candidates() -> Iterator[_Entry]:
            nonlocal examined
            for entry in self._records[cursor + 1 - self._first :]:
                if _matches(target, entry):
                    yield entry
                # Reached once the entry was taken (or did not match): examined.
                examined = entry.sequence_number

        found = [
            entry.wire
            for entry in islice(within_bytes(candidates(), max_bytes, _entry_size), limit)
        ]
        if found:
            examined = max(examined, found[-1].sequence_number)
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
                head = self._adapter.wait_for_head_change(known, _WATCH_SLICE)
                if head <= known:
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
                if self._on_storage_error is not None:
                    self._on_storage_error("unavailable")
                self._stopping.wait(_WATCH_SLICE)
                continue
            if batch:
                known = batch[-1].sequence_number
                self._publish(batch, known)

    def _read_after(self, known: int, head: int) -> list[_Entry]:
        # At most about _TAIL_BYTES per batch: the rest is read on the next turn (the head
        # is then still ahead), after the tail has been trimmed.
        batch: list[_Entry] = []
        size = 0
        while known < head and size < _TAIL_BYTES:
            page = list(
                self._adapter.read_records(
                    target=identifier.Log(),
                    after_sequence_number=known,
                    limit=READ_PAGE,
                    max_bytes=min(READ_PAGE_BYTES, _TAIL_BYTES - size),
                )
            )
            if not page:
                break
            entries = [_Entry.of(record) for record in page]
            batch.extend(entries)
            size += sum(entry.size for entry in entries)
            known = page[-1].sequence_number
        return batch

    def _publish(self, batch: list[_Entry], end: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._append, batch, end)

    def _append(self, batch: list[_Entry], end: int) -> None:
        if end <= self._end:
            return
        if batch and batch[0].sequence_number == self._end + 1:
            self._records.extend(batch)
            self._bytes += sum(entry.size for entry in batch)
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
        self._bytes -= sum(entry.size for entry in dropped)
        self._first += count

    def _wake(self) -> None:
        # Wake everyone waiting on the current event, and give later waiters a fresh one.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
