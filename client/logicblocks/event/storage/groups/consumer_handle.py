"""What an application holds of an in-process group consumer: it leaves when dropped.

A ``LocalGroupConsumer`` is held by the threads that serve it (its member loop and its
head watch) for as long as it is a member, so it is never collected by itself: a consumer
an application dropped without ``close()`` would go on reading the group every tick and
keep its threads. The application gets a ``LocalConsumerHandle`` instead, which only the
application holds (itself, and through the deliveries it handed out, so that acks made
after the handle was dropped still count); once it is collected, the consumer leaves as
``close()`` has it (what it settled is saved, its partitions released), without waiting.
The server holds the consumer itself and closes it when its stream ends.
"""

import weakref

from logicblocks.event.store.consumer import GroupConsumer

from .consumer import LocalDelivery, LocalGroupConsumer

__all__ = ["LocalConsumerHandle"]


class LocalConsumerHandle(GroupConsumer):
    """The application's ``consumer``: iterates it, closes it, and has it leave the group
    once the handle itself is dropped unclosed."""

    def __init__(self, consumer: LocalGroupConsumer):
        self.consumer = consumer
        self._finalizer = weakref.finalize(self, consumer.abandon)
        # At exit, threads that may still iterate it are left alone: they end with Python.
        self._finalizer.atexit = False

    @property
    def consumer_id(self) -> str:
        return self.consumer.consumer_id

    def __next__(self) -> LocalDelivery:
        delivery = next(self.consumer)
        delivery.held_by = self
        return delivery

    def close(self) -> None:
        self._finalizer.detach()
        self.consumer.close()
