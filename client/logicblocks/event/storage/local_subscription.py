"""Subscriptions read straight from a backend in this process."""

import threading
from collections import deque
from typing import TYPE_CHECKING

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.start import ReadStart, start_after
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.types import StoredEvent

if TYPE_CHECKING:
    # The engine base makes these subscriptions; this module only calls it back.
    from .engine import RecordStorageAdapter

__all__ = ["LocalSubscription"]

_PAGE_SIZE = 500
# How long one wait for the head lasts: bounds how late close() is noticed and how often a
# waiter re-reads the head when no wake-up arrives.
_WAIT_SLICE = 0.25


class LocalSubscription(Subscription):
    """A subscription read straight from a backend in this process.

    It pages through the backend after the last delivered sequence number and, once caught
    up, waits for the head to move. Sequence numbers are assigned in commit order, so a
    page read after the head was seen at ``h`` contains every event of the target up to
    ``h``: nothing is skipped, nothing delivered twice.
    """

    def __init__(
        self,
        *,
        adapter: "RecordStorageAdapter",
        target: Scannable,
        start: ReadStart,
    ):
        self._adapter = adapter
        self._target = target
        self._closed = threading.Event()
        self._buffer: deque[StoredEvent] = deque()
        self._known_head = adapter.head()
        after = start_after(start, self._known_head)
        self._cursor = after
        self._checkpoint = after
        self._caught_up = False

    @property
    def checkpoint(self) -> int:
        return self._checkpoint

    @property
    def caught_up(self) -> bool:
        return self._caught_up

    def close(self) -> None:
        self._closed.set()

    def __next__(self) -> StoredEvent:
        while not self._closed.is_set():
            if self._buffer:
                event = self._buffer.popleft()
                self._checkpoint = max(self._checkpoint, event.sequence_number)
                return event
            head_before_read = self._adapter.head()
            page = list(
                self._adapter.read_records(
                    target=self._target, after_sequence_number=self._cursor, limit=_PAGE_SIZE
                )
            )
            if page:
                self._cursor = page[-1].sequence_number
                self._buffer.extend(record.to_stored_event() for record in page)
                continue
            # Nothing after the cursor although the head was read first: everything of the
            # target up to that head has been delivered.
            self._caught_up = True
            self._checkpoint = max(self._checkpoint, head_before_read)
            self._known_head = head_before_read
            self._wait_for_change()
        raise StopIteration

    def _wait_for_change(self) -> None:
        while not self._closed.is_set():
            if self._adapter.wait_for_head_change(self._known_head, _WAIT_SLICE) > self._known_head:
                return
