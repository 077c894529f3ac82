"""Subscriptions: follow a stream, a category or the log as it grows.

A subscription yields the target's history, then each new event as it commits, in
sequence-number order, each exactly once. ``checkpoint`` is the sequence number up to which
the subscriber has seen everything of its target, heartbeats and catch-ups included, so a
subscriber of a quiet target can still record progress and resume later with
``after_sequence_number=checkpoint``.
"""

from abc import abstractmethod

from logicblocks.event.types import StoredEvent

from .iteration import ClosingIterator, ThreadedAsyncIterator

__all__ = ["AsyncSubscription", "Subscription"]


class Subscription(ClosingIterator[StoredEvent]):
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

    def __aiter__(self) -> "AsyncSubscription":
        return AsyncSubscription(self)


class AsyncSubscription(ThreadedAsyncIterator[StoredEvent]):
    """A subscription for asyncio programs: waits in a worker thread, never in the loop.

    Each pending ``__anext__`` holds a thread of the loop's default executor while it
    waits, so this suits a few subscriptions of an in-process store. For many concurrent
    subscriptions to a server use ``AsyncGrpcStorageAdapter``, which waits on the loop
    itself and holds no thread.
    """

    def __init__(self, subscription: Subscription):
        super().__init__(subscription)
        self.subscription = subscription
