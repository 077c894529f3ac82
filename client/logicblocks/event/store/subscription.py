"""Subscriptions: follow a stream, a category or the log as it grows.

A subscription yields the target's history, then each new event as it commits, in
sequence-number order, each exactly once. ``checkpoint`` is the sequence number up to which
the subscriber has seen everything of its target, heartbeats and catch-ups included, so a
subscriber of a quiet target can still record progress and resume later with
``after_sequence_number=checkpoint``.
"""

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

from logicblocks.event.types import StoredEvent

from .exceptions import InvalidInputError

if TYPE_CHECKING:
    from .adapters.base import RecordStorageAdapter, Scannable

__all__ = [
    "AsyncSubscription",
    "LocalSubscription",
    "StartBeyondHeadError",
    "Subscription",
    "resolve_start",
]

_PAGE_SIZE = 500
# How long one wait for the head lasts: bounds how late close() is noticed and how often a
# waiter re-reads the head when no wake-up arrives.
_WAIT_SLICE = 0.25


class StartBeyondHeadError(InvalidInputError):
    """A subscription was asked to start after a sequence number the store has not reached.

    Starting there would skip, unseen, every event up to it once written: the checkpoint
    comes from another store, or from before a backup was restored.
    """

    def __init__(self, after_sequence_number: int, head: int):
        super().__init__(
            "after_sequence_number",
            f"{after_sequence_number} is beyond the head of the store ({head}): a checkpoint "
            "from another store or from before a restore?",
        )
        self.head = head


def ensure_start_reached(after_sequence_number: int | None, head: int | None) -> None:
    """Refuse a start beyond ``head`` (``None``: an empty store) with ``StartBeyondHeadError``."""
    known = -1 if head is None else head
    if after_sequence_number is not None and after_sequence_number > known:
        raise StartBeyondHeadError(after_sequence_number, known)


def resolve_start(after_sequence_number: int | None, from_end: bool) -> int | None:
    """Check a subscription's start; ``None`` means "from the current end"."""
    if from_end:
        if after_sequence_number is not None:
            raise InvalidInputError(
                "after_sequence_number", "cannot be given together with from_end=True"
            )
        return None
    if after_sequence_number is None:
        return -1
    if (
        not isinstance(after_sequence_number, int)
        or isinstance(after_sequence_number, bool)
        or after_sequence_number < -1
    ):
        raise InvalidInputError("after_sequence_number", "must be an integer >= -1")
    return after_sequence_number


class Subscription(Iterator[StoredEvent], ABC):
    """An endless iterator of the events of a target; ``close()`` ends it.

    Iteration blocks until the next event commits. ``close()`` may be called from another
    thread; the iterator then stops.
    """

    @property
    @abstractmethod
    def checkpoint(self) -> int:
        """Everything of the target up to this sequence number was delivered (-1: nothing)."""

    @property
    @abstractmethod
    def caught_up(self) -> bool:
        """Whether the history has been delivered and the subscription is live."""

    @abstractmethod
    def close(self) -> None:
        """Stop the subscription and release what it holds."""

    def __iter__(self) -> Self:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __aiter__(self) -> "AsyncSubscription":
        return AsyncSubscription(self)


class AsyncSubscription(AsyncIterator[StoredEvent]):
    """A subscription for asyncio programs: waits in a worker thread, never in the loop.

    Each pending ``__anext__`` holds a thread of the loop's default executor while it
    waits, so this suits a few subscriptions of an in-process store. For many concurrent
    subscriptions to a server use ``AsyncGrpcStorageAdapter``, which waits on the loop
    itself and holds no thread.
    """

    def __init__(self, subscription: Subscription):
        self.subscription = subscription

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StoredEvent:
        try:
            return await asyncio.to_thread(self._next)
        except asyncio.CancelledError:
            self.subscription.close()
            raise

    def _next(self) -> StoredEvent:
        try:
            return next(self.subscription)
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop the subscription."""
        self.subscription.close()


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
        target: "Scannable",
        after_sequence_number: int | None,
    ):
        self._adapter = adapter
        self._target = target
        self._closed = threading.Event()
        self._buffer: deque[StoredEvent] = deque()
        head = adapter.head()
        ensure_start_reached(after_sequence_number, head)
        self._known_head = -1 if head is None else head
        start = self._known_head if after_sequence_number is None else after_sequence_number
        self._cursor = start
        self._checkpoint = start
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
            head_before_read = self._read_head()
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

    def _read_head(self) -> int:
        head = self._adapter.head()
        return -1 if head is None else head

    def _wait_for_change(self) -> None:
        while not self._closed.is_set():
            known = None if self._known_head < 0 else self._known_head
            head = self._adapter.wait_for_head_change(known, _WAIT_SLICE)
            if head is not None and head > self._known_head:
                return
