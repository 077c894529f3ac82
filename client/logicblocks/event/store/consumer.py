"""A consumer of a group: the deliveries it receives and how it settles them.

A consumer joins a named group and receives deliveries: events of the group's target,
each to be settled with ``ack()`` (done: never delivered to the group again) or
``nack(reason=...)`` (failed: delivered again after a backoff, parked once its retries
are spent). Delivery is at least once: an event not acknowledged (nacked, not settled
within the group's ``ack_timeout``, or held by a consumer that went away) is delivered
again. One stream's events reach one consumer at a time, in position order: the next
event of a stream is delivered only once the previous one is settled.
"""

from abc import ABC, abstractmethod

from logicblocks.event.types import StoredEvent

from .iteration import ClosingIterator, ThreadedAsyncIterator

__all__ = ["AsyncGroupConsumer", "Delivery", "GroupConsumer"]


class Delivery(ABC):
    """One event handed to one consumer of a group, to be settled exactly once.

    Attributes:
        event: the event.
        attempt: which delivery of the event to the group this is (1 for the first).
    """

    def __init__(self, *, attempt: int):
        self.attempt = attempt

    @property
    @abstractmethod
    def event(self) -> StoredEvent:
        """The event."""

    @abstractmethod
    def ack(self) -> None:
        """The event is done: the group will not deliver it again.

        Settling a delivery twice, or one whose ack timeout passed and which was handed
        out again, changes nothing.
        """

    @abstractmethod
    def nack(self, *, reason: str) -> None:
        """The event failed: deliver it again after the group's backoff, or park it (with
        ``reason``) once its retries are spent."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(event={self.event!r}, attempt={self.attempt})"


class GroupConsumer(ClosingIterator[Delivery]):
    """An endless iterator of a group's deliveries to one consumer; ``close()`` leaves.

    Iteration blocks until a delivery is ready. ``close()`` may be called from another
    thread; the iterator then stops, and what the consumer held unsettled goes to the
    group's other consumers (after its ack timeout, when the server cannot tell whether
    the consumer is still working on it).
    """

    @property
    @abstractmethod
    def consumer_id(self) -> str:
        """The consumer's id in the group (given when joining, else made up)."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group and release what the consumer holds."""

    def __aiter__(self) -> "AsyncGroupConsumer":
        return AsyncGroupConsumer(self)


class AsyncGroupConsumer(ThreadedAsyncIterator[Delivery]):
    """A group consumer for asyncio programs: waits in a worker thread, never in the loop.

    ``ack()`` and ``nack()`` of its deliveries do not block on the network for long (they
    queue the settlement), so they may be called from the loop.
    """

    def __init__(self, consumer: GroupConsumer):
        super().__init__(consumer)
        self.consumer = consumer
