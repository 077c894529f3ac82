"""The asyncio gRPC client behind the blocking ``StorageAdapter`` interface, for the contract suite.

The contract suite (``tests/contract/suite.py``) is written once, against the blocking
interfaces, and every adapter runs it. ``AsyncGrpcStorageAdapter`` makes the same promises
as the others, so rather than a parallel asyncio suite that would drift from the real one,
``BlockingAsyncGrpcAdapter`` drives a real asyncio client on an event loop in a thread of
its own, and the suite runs against that unchanged.

The bridge adds no behaviour of its own: each call is one awaited call of the asyncio
client, and whatever that raises reaches the test unchanged. Scans step the client's async
iterator one event at a time (so they stay lazy) and close it when the iteration is
abandoned, which cancels the server call; subscriptions are started on the loop before
``subscribe`` returns, so ``from_end`` is fixed as the blocking interface promises.
"""

import asyncio
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
    Set,
)
from datetime import datetime
from typing import Any, TypeVar

from logicblocks.event.store.adapters import AsyncGrpcStorageAdapter, StorageAdapter
from logicblocks.event.store.adapters.base import Saveable, Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.store.groups import (
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
)
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.store.writes import StreamWrite
from logicblocks.event.transport.client_async import AsyncGrpcSubscription
from logicblocks.event.transport.consumer_async import AsyncGrpcGroupConsumer
from logicblocks.event.types import NewEvent, StoredEvent, identifier

__all__ = [
    "BlockingAsyncGroupConsumer",
    "BlockingAsyncGrpcAdapter",
    "BlockingAsyncGrpcSubscription",
    "GrpcClient",
    "LoopThread",
]

# Makes a client (blocking, or asyncio behind this bridge) of the server at a target.
GrpcClient = Callable[[str], StorageAdapter]

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread; other threads submit coroutines."""

    def __init__(self, name: str):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for it; its exception is raised here as is."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop without waiting for it; nothing if the loop stopped."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback)

    @property
    def running(self) -> bool:
        """Whether coroutines can still be submitted."""
        return self._loop.is_running()

    def in_loop(self) -> bool:
        """Whether the caller is the loop's own thread (where waiting on it would deadlock)."""
        return threading.current_thread() is self._thread

    def stop(self) -> None:
        """Finish the loop's async generators, stop it and wait for its thread."""
        if not self.running:
            return
        self.run(self._loop.shutdown_asyncgens())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _next(iterator: AsyncIterator[T]) -> T:
    """The next item of ``iterator`` (``anext`` alone is an awaitable, not a coroutine)."""
    return await anext(iterator)


class BlockingAsyncGrpcSubscription(Subscription):
    """An ``AsyncGrpcSubscription`` iterated from blocking code, one ``__anext__`` per event."""

    def __init__(self, loop: LoopThread, subscription: AsyncGrpcSubscription):
        self._loop = loop
        self._subscription = subscription

    @property
    def checkpoint(self) -> int:
        return self._subscription.checkpoint

    @property
    def caught_up(self) -> bool:
        return self._subscription.caught_up

    def close(self) -> None:
        # Not waited for: close() may come from any thread, while another is blocked in
        # __next__, and the loop ends that wait as soon as it runs the close.
        self._loop.call_soon(self._subscription.close)

    def __next__(self) -> StoredEvent:
        try:
            return self._loop.run(_next(self._subscription))
        except StopAsyncIteration:
            raise StopIteration from None


class BlockingAsyncGroupConsumer(GroupConsumer):
    """An ``AsyncGrpcGroupConsumer`` iterated from blocking code, one ``__anext__`` per
    delivery; its deliveries are settled from the calling thread (the client hands each
    settlement to its loop)."""

    def __init__(self, loop: LoopThread, consumer: AsyncGrpcGroupConsumer):
        self._loop = loop
        self._consumer = consumer

    @property
    def consumer_id(self) -> str:
        return self._consumer.consumer_id

    def __next__(self) -> Delivery:
        try:
            return self._loop.run(_next(self._consumer))
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        # Waits for the server to confirm, unless another thread is iterating (the
        # client then only asks to leave, and that thread sees the end).
        if self._loop.running and not self._loop.in_loop():
            self._loop.run(self._consumer.aclose())


class BlockingAsyncGrpcAdapter(StorageAdapter):
    """A blocking ``StorageAdapter`` over an ``AsyncGrpcStorageAdapter`` on a loop thread.

    ``close()`` closes the asyncio client (its calls in flight end) and stops the loop.
    """

    def __init__(self, *, target: str):
        self._loop = LoopThread(name=f"async-grpc-client-{target}")

        async def connect() -> AsyncGrpcStorageAdapter:
            # grpc.aio binds a channel to the loop it is made on.
            return AsyncGrpcStorageAdapter(target=target)

        self._client = self._loop.run(connect())

    def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        return self._loop.run(
            self._client.save(target=target, events=events, conditions=conditions)
        )

    def publish(
        self,
        *,
        writes: Sequence[StreamWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        return self._loop.run(self._client.publish(writes=writes, conditions=conditions))

    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[StoredEvent]:
        # The client checks its arguments here, before any iteration, and so does this.
        events = self._client.scan(
            target=target, after_sequence_number=after_sequence_number, since=since
        )
        return self._iterate(events)

    def _iterate(self, events: AsyncIterator[StoredEvent]) -> Iterator[StoredEvent]:
        try:
            while True:
                try:
                    event = self._loop.run(_next(events))
                except StopAsyncIteration:
                    return
                yield event
        finally:
            # Reached when the iteration ends or is abandoned (closed or collected):
            # closing the async generator cancels its server call. Collected on the
            # loop's own thread, waiting would deadlock; the loop's finalizer hook then
            # closes the generator once it is collected in turn.
            if (
                isinstance(events, AsyncGenerator)
                and self._loop.running
                and not self._loop.in_loop()
            ):
                self._loop.run(events.aclose())

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
    ) -> Subscription:
        async def open_started() -> AsyncGrpcSubscription:
            subscription = self._client.subscribe(
                target=target,
                after_sequence_number=after_sequence_number,
                from_end=from_end,
                since=since,
            )
            # Started before returning: with from_end, the end is the head at this moment.
            await subscription.start()
            return subscription

        return BlockingAsyncGrpcSubscription(self._loop, self._loop.run(open_started()))

    def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        return self._loop.run(
            self._client.create_group(name=name, target=target, start=start, settings=settings)
        )

    def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        return self._loop.run(self._client.update_group(name=name, settings=settings))

    def get_group(self, *, name: str) -> GroupInfo:
        return self._loop.run(self._client.get_group(name=name))

    def list_groups(self) -> Sequence[GroupInfo]:
        return self._loop.run(self._client.list_groups())

    def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        return self._loop.run(self._client.reset_group(name=name, start=start))

    def delete_group(self, *, name: str) -> None:
        self._loop.run(self._client.delete_group(name=name))

    def consume_group(self, *, name: str, consumer_id: str | None = None) -> GroupConsumer:
        consumer = self._loop.run(self._client.consume_group(name=name, consumer_id=consumer_id))
        return BlockingAsyncGroupConsumer(self._loop, consumer)

    def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        return self._loop.run(
            self._client.parked_events(
                name=name, after_sequence_number=after_sequence_number, limit=limit
            )
        )

    def replay_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        return self._loop.run(
            self._client.replay_parked(name=name, sequence_numbers=sequence_numbers)
        )

    def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        return self._loop.run(
            self._client.drop_parked(name=name, sequence_numbers=sequence_numbers)
        )

    def close(self) -> None:
        if self._loop.running:
            self._loop.run(self._client.close())
        self._loop.stop()
