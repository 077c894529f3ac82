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

__all__ = ["AsyncSubscription", "Subscription"]


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
