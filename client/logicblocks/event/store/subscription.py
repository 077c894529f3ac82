"""Subscriptions: follow a stream, a category or the log as it grows.

A subscription yields the target's history, then each new event as it commits, in
sequence-number order, each exactly once. ``checkpoint`` is the sequence number up to which
the subscriber has seen everything of its target, heartbeats and catch-ups included, so a
subscriber of a quiet target can still record progress and resume later with
``after_sequence_number=checkpoint``.
"""

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Self

from logicblocks.event.types import StoredEvent

from .exceptions import InvalidInputError

__all__ = [
    "AsyncSubscription",
    "StartBeyondHeadError",
    "Subscription",
    "resolve_start",
]


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
