"""The log's tail: the most recent events, read once per commit and kept for subscribers.

One task per server awaits the storage's ``wait_for_head_change`` (an in-process signal,
or PostgreSQL ``LISTEN``), reads the newly committed events once, converts them to
wire messages once, and keeps the most recent ones in memory, bounded by count and by
bytes. Subscribers that are caught up take their next events from here, filtered by their
target (``subscriptions.follow``), so live delivery costs one storage read per commit
however many subscribers there are. Sequence numbers are assigned in commit order, so the
tail is always a contiguous run of the log.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.storage.engine import payload_bytes, within_bytes
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from .event_batches import EventBatch, frame
from .wire import record_to_wire

__all__ = ["READ_PAGE", "READ_PAGE_BYTES", "WAKE_INTERVAL", "LogTail"]

_log = logging.getLogger(__name__)

# How long the tail's task waits at most for a commit: bounds how often the head is
# re-read when no notification arrives.
_WATCH_SLICE = 1.0
# The tail keeps at least this many recent events (and at most twice as many, or about
# _TAIL_BYTES of payload), enough for subscribers a little behind to be served from memory.
_TAIL_EVENTS = 4096
_TAIL_BYTES = 8 * 1024 * 1024
# Waiting subscribers are woken at most this often (seconds), so the commits made in
# between reach each of them in one message rather than one message per commit: a message
# costs a subscriber several times what an event in it costs (gRPC's send, waking its
# task). The first commit after a quiet spell wakes them at once.
WAKE_INTERVAL = 0.002
# Events, and payload bytes, in one page read from storage, by the tail or a subscriber.
READ_PAGE = 500
READ_PAGE_BYTES = 1024 * 1024


_NO_TAGS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Entry:
    """One event of the tail: its encoding for subscribers (``frame``) and what matching
    and accounting need.

    Neither the record nor its wire message is kept: each would be another copy of the
    payload, and subscribers are sent the encoding.
    """

    sequence_number: int
    category: str
    stream: str
    name: str
    tags: frozenset[str]
    size: int
    framed: bytes

    @classmethod
    def of(cls, record: EventRecord) -> "_Entry":
        return cls(
            record.sequence_number,
            record.category,
            record.stream,
            record.name,
            # A set once, not per query subscriber that looks at it.
            frozenset(record.tags) if record.tags else _NO_TAGS,
            payload_bytes(record),
            frame(record_to_wire(record)),
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
        case Query():
            # The one matcher every engine's in-memory path uses, so live events are
            # selected exactly as a read by the same query selects them.
            return target.matches(
                category=entry.category, stream=entry.stream, name=entry.name, tags=entry.tags
            )
    return False


def _target_key(target: Scannable) -> tuple[object, ...]:
    # Identifiers hash through their JSON text: too dear for a lookup per subscriber. A
    # query hashes through its items (frozen values), and is told apart from the names of
    # a category or stream by its type.
    match target:
        case identifier.Category(category=category):
            return (category,)
        case identifier.Stream(category=category, stream=stream):
            return (category, stream)
        case Query():
            return (target,)
    return ()


class LogTail:
    """The most recent events of the log, shared by every subscription of one server.

    ``end`` is the greatest sequence number the tail has read (-1 for an empty store);
    every event up to it is committed and readable. The tail holds the events from
    ``first`` to ``end``, contiguously. ``on_storage_error``, if given, is told (with
    ``"unavailable"``) each time reading the log fails. ``wake_interval``: see
    ``WAKE_INTERVAL``.
    """

    def __init__(
        self,
        storage: AsyncRecordStorage,
        on_storage_error: Callable[[str], None] | None = None,
        wake_interval: float = WAKE_INTERVAL,
    ):
        self._storage = storage
        self._on_storage_error = on_storage_error
        self._records: list[_Entry] = []
        # What after() handed out since the tail last changed, by what was asked.
        self._handed: dict[tuple[int, tuple[object, ...], int, int], tuple[EventBatch, int]] = {}
        self._bytes = 0
        self._first = 0
        self._end = -1
        self._changed = asyncio.Event()
        self._waiting = 0
        self._wake_interval = wake_interval
        self._woken_at = -wake_interval
        self._wake_pending: asyncio.TimerHandle | None = None
        self._follower: asyncio.Task[None] | None = None
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
        self._end = await self._storage.head()
        self._first = self._end + 1
        self._follower = asyncio.create_task(self._follow(), name="log-tail")

    def close(self) -> None:
        """Wake every waiting subscription so it ends; call from the event loop."""
        self._closed = True
        if self._wake_pending is not None:
            self._wake_pending.cancel()
        self._wake()

    async def stop(self) -> None:
        """Stop following the log; call from the event loop, before the storage closes."""
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)

    def covers(self, cursor: int) -> bool:
        """Whether every event after ``cursor`` (up to ``end``) is in the tail."""
        return cursor >= self._first - 1

    def after(
        self, cursor: int, target: Scannable, limit: int, max_bytes: int = READ_PAGE_BYTES
    ) -> tuple[EventBatch, int]:
        """Up to ``limit`` events of ``target`` after ``cursor``, and how far it looked.

        The events hold about ``max_bytes`` of payload, as a page read from storage
        (``within_bytes``). The second value is the sequence number up to which the tail
        was examined: every event of the target up to it is in the first value. Requires
        ``covers(cursor)``.

        Until the tail next changes, everyone asking the same is handed the same batch
        (after a commit, every caught-up subscriber of a target asks the same), so the
        filter runs and the messages are built once for all of them.
        """
        key = (cursor, _target_key(target), limit, max_bytes)
        handed = self._handed.get(key)
        if handed is None:
            handed = self._handed[key] = self._select(cursor, target, limit, max_bytes)
        return handed

    def _select(
        self, cursor: int, target: Scannable, limit: int, max_bytes: int
    ) -> tuple[EventBatch, int]:
        examined = cursor

        def candidates() -> Iterator[_Entry]:
            nonlocal examined
            for entry in self._records[cursor + 1 - self._first :]:
                if _matches(target, entry):
                    yield entry
                # Reached once the entry was taken (or did not match): examined.
                examined = entry.sequence_number

        found = list(islice(within_bytes(candidates(), max_bytes, _entry_size), limit))
        if found:
            examined = max(examined, found[-1].sequence_number)
        return EventBatch(framed=[entry.framed for entry in found]), max(examined, cursor)

    async def wait_for_change(self, known_end: int, timeout: float) -> bool:
        """Wait until ``end`` moves past ``known_end``; False if ``timeout`` passed first."""
        self._waiting += 1
        try:
            # Not wait_for(): it wraps every wait in a task of its own, a cost each
            # subscriber would pay on every wake.
            async with asyncio.timeout(timeout):
                while self._end <= known_end and not self._closed:
                    await self._changed.wait()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    async def _follow(self) -> None:
        known = self._end
        while True:
            # Past what offer() appended: this server's own commits need no read.
            known = max(known, self._end)
            try:
                head = await self._storage.wait_for_head_change(known, _WATCH_SLICE)
                if head <= known:
                    continue
                if self.subscribers == 0 or head - known > _TAIL_EVENTS:
                    # Nobody to serve, or too far to read: skip ahead; subscribers behind
                    # the tail read storage themselves.
                    known = head
                    self._append([], head)
                    continue
                batch = await self._read_after(known, head)
            except Exception as error:  # storage away: keep following, subscribers poll on
                _log.warning("event=log_tail_failed error=%s", type(error).__name__)
                if self._on_storage_error is not None:
                    self._on_storage_error("unavailable")
                await asyncio.sleep(_WATCH_SLICE)
                continue
            if batch:
                known = batch[-1].sequence_number
                self._append(batch, known)

    async def _read_after(self, known: int, head: int) -> list[_Entry]:
        # At most about _TAIL_BYTES per batch: the rest is read on the next turn (the head
        # is then still ahead), after the tail has been trimmed.
        batch: list[_Entry] = []
        size = 0
        while known < head and size < _TAIL_BYTES:
            page = await self._storage.read_page(
                target=identifier.Log(),
                after_sequence_number=known,
                limit=READ_PAGE,
                max_bytes=min(READ_PAGE_BYTES, _TAIL_BYTES - size),
            )
            if not page:
                break
            entries = [_Entry.of(record) for record in page]
            batch.extend(entries)
            size += sum(entry.size for entry in entries)
            known = page[-1].sequence_number
        return batch

    def offer(self, records: Sequence[EventRecord]) -> None:
        """Records this server has just committed, in sequence-number order (the storage's
        ``records_observer``).

        When they follow the tail's end directly (no other commit came between), they are
        appended at once, sparing the read their commit's notification would cause;
        otherwise the tail reads them from storage as any other commit.
        """
        if self.subscribers > 0 and records and records[0].sequence_number == self._end + 1:
            self._append([_Entry.of(record) for record in records], records[-1].sequence_number)

    def _append(self, batch: list[_Entry], end: int) -> None:
        if end <= self._end:
            return
        if batch and batch[0].sequence_number <= self._end:
            # Read while offer() appended the first of them.
            batch = batch[self._end + 1 - batch[0].sequence_number :]
        if batch and batch[0].sequence_number == self._end + 1:
            self._records.extend(batch)
            self._bytes += sum(entry.size for entry in batch)
        else:
            # A skip: the tail restarts after it, empty.
            self._records, self._bytes, self._first = [], 0, end + 1
        self._end = end
        self._handed.clear()
        self._trim()
        self._wake_soon()

    def _trim(self) -> None:
        if len(self._records) > 2 * _TAIL_EVENTS:
            self._drop(len(self._records) - _TAIL_EVENTS)
        while self._bytes > _TAIL_BYTES and len(self._records) > 1:
            self._drop(len(self._records) // 2)

    def _drop(self, count: int) -> None:
        dropped, self._records = self._records[:count], self._records[count:]
        self._bytes -= sum(entry.size for entry in dropped)
        self._first += count

    def _wake_soon(self) -> None:
        # Subscribers that are not waiting see the new end on their next turn by themselves.
        if self._waiting == 0 or self._wake_pending is not None:
            return
        delay = self._woken_at + self._wake_interval - time.monotonic()
        if delay <= 0:
            self._wake()
        else:
            self._wake_pending = asyncio.get_running_loop().call_later(delay, self._wake)

    def _wake(self) -> None:
        # Wake everyone waiting on the current event, and give later waiters a fresh one.
        self._wake_pending = None
        self._woken_at = time.monotonic()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
