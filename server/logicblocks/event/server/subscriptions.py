"""Live subscriptions on the server: one reader of the log's tail, many subscribers.

A subscriber costs no thread while it waits: it awaits an ``asyncio`` wake-up. One task
per server awaits the storage's ``wait_for_head_change`` (an in-process signal, or
PostgreSQL ``LISTEN``), reads the newly committed events once (this server's own commits
are handed to it instead), converts them to wire messages once, and keeps the most recent
ones in memory (the tail). Every subscriber that is caught up takes its next events from
the tail, filtered by its target, so live delivery costs at most one storage read per
commit however many subscribers there are.

A subscriber further behind than the tail reaches reads storage itself, page by page, at
its own pace: a slow subscriber makes the server wait on flow control, never buffer.

Memory is bounded by bytes as well as by count: a page read from storage holds about
``page_bytes`` of payload (one event at least), the tail about ``_TAIL_BYTES``, and what
one subscriber is handed from the tail about a page, so events of a MiB each cost no more
than small ones in total.

Sequence numbers are assigned in commit order, so the tail is always a contiguous run of
the log, and a storage page read after the tail's end was seen holds every event of the
target up to that end: nothing is skipped, nothing sent twice.
"""

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.start import After, FromEnd, ReadStart, start_after
from logicblocks.event.v1 import events_pb2

from .event_batches import EventBatch
from .log_tail import READ_PAGE, READ_PAGE_BYTES, LogTail
from .wire import record_to_wire

__all__ = [
    "CaughtUp",
    "Events",
    "Heartbeat",
    "PageReader",
    "follow",
]

_log = logging.getLogger(__name__)

# After a page cut short by its byte budget the next asks for at most this many times as
# many events (and never fewer than _MIN_PAGE): a backend that measures a page's
# candidates before cutting it (PostgreSQL) then measures few more than it returns.
_PAGE_GROWTH = 2
_MIN_PAGE = 2


class PageReader:
    """Reads one target's records page by page, each page bounded by count and by bytes.

    A page holds at most ``page_size`` events and about ``page_bytes`` of payload (one
    event at least, however large).
    """

    def __init__(
        self,
        storage: AsyncRecordStorage,
        target: Scannable,
        *,
        page_size: int = READ_PAGE,
        page_bytes: int = READ_PAGE_BYTES,
    ):
        self._storage = storage
        self._target = target
        self._page_size = page_size
        self._page_bytes = page_bytes
        self._next_size = page_size

    async def read(self, after: int, limit: int | None = None) -> list[events_pb2.StoredEvent]:
        """The next page after ``after``, at most ``limit``, as wire messages (the records
        are not kept)."""
        size = self._next_size if limit is None else min(self._next_size, limit)
        page = [
            record_to_wire(record)
            for record in await self._storage.read_page(
                target=self._target,
                after_sequence_number=after,
                limit=size,
                max_bytes=self._page_bytes,
            )
        ]
        self._next_size = (
            self._page_size
            if len(page) == size
            else min(self._page_size, max(_MIN_PAGE, _PAGE_GROWTH * len(page)))
        )
        return page


@dataclass(frozen=True, slots=True)
class Events:
    """The next events of the target, in sequence-number order, as wire messages and as
    the ``Subscribe`` messages that carry them (shared with every subscriber handed the
    same batch)."""

    events: EventBatch


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Every event of the target up to ``checkpoint`` has been sent; live events follow."""

    checkpoint: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The subscription is idle; every event of the target up to ``checkpoint`` was sent."""

    checkpoint: int


async def follow(
    *,
    storage: AsyncRecordStorage,
    tail: LogTail,
    target: Scannable,
    start: ReadStart,
    heartbeat_interval: float,
    page_size: int = READ_PAGE,
    page_bytes: int = READ_PAGE_BYTES,
) -> AsyncIterator[Events | CaughtUp | Heartbeat]:
    """The messages of one subscription: history, one ``CaughtUp``, then live events.

    ``start`` ``FROM_END`` starts at the current end of the log. Heartbeats come whenever
    nothing was sent for ``heartbeat_interval`` seconds. Ends when the tail is closed (the
    server is shutting down). Raises ``StartBeyondHeadError`` (before anything is sent)
    for a start beyond the head of the store.
    """
    head = tail.end
    if isinstance(start, FromEnd) or (isinstance(start, After) and start.sequence_number > head):
        # The tail's end may lag the head by a commit: storage says where the end is (an
        # event acknowledged before the subscription began is not a new one) and whether a
        # start is really beyond it.
        head = await storage.head()
    cursor = start_after(start, head)
    pages = PageReader(storage, target, page_size=page_size, page_bytes=page_bytes)
    caught_up = False
    last_sent = time.monotonic()
    tail.subscribers += 1
    try:
        while not tail.closed:
            end = tail.end
            if tail.covers(cursor):
                events, cursor = tail.after(cursor, target, page_size, page_bytes)
            else:
                # Read storage after the tail's end was seen: the page then holds every
                # event of the target up to that end.
                events = EventBatch(await pages.read(cursor))
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
