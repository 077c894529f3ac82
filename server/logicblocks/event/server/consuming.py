"""One ``Consume`` stream: a group consumer of the engine, run beside the event loop.

The engine's ``GroupConsumer`` is a blocking iterator: its ``next()`` waits until the
group has an event for this consumer. So each stream runs it in a thread of its own (the
pump), which takes a delivery only while the client has credit and hands each to the
event loop; the loop numbers it (``delivery_id``), remembers it until the client settles
it, and sends deliveries in batches. Settling (``ack``, ``nack``) and leaving
(``close``) may touch storage, so they run on the storage executor, never in the loop.

Memory per stream is bounded by the client's credit: the pump takes no delivery the
client has not made room for, so at most ``credit`` deliveries wait to be sent.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor
from typing import Any, TypeVar

from logicblocks.event.store import GroupNotFoundError
from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.transport.wire import set_timestamp
from logicblocks.event.types import StoredEvent
from logicblocks.event.types.json_text import dumps
from logicblocks.event.v1 import consumer_groups_pb2, events_pb2

__all__ = ["ConsumerStream", "stored_event_to_wire"]

_log = logging.getLogger("logicblocks.event.server")

_T = TypeVar("_T")


class _End:
    """The consumer's deliveries have ended (it left, or its iteration ended)."""


_END = _End()


def _json(value: object) -> bytes:
    return dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def stored_event_to_wire(event: StoredEvent) -> events_pb2.StoredEvent:
    """A delivered event on the wire: the engine hands events with their JSON decoded,
    so payload and metadata go as compact JSON text of the same values."""
    wire = events_pb2.StoredEvent(
        id=event.id,
        name=event.name,
        stream=event.stream,
        category=event.category,
        position=event.position,
        sequence_number=event.sequence_number,
        payload=_json(event.payload),
    )
    set_timestamp(wire.observed_at, event.observed_at)
    set_timestamp(wire.occurred_at, event.occurred_at)
    if event.tags:
        wire.tags.extend(sorted(event.tags))
    if event.metadata:
        wire.metadata = _json(event.metadata)
    return wire


class ConsumerStream:
    """The consumer of one ``Consume`` call: credit, deliveries in flight, and leaving.

    Made in the event loop that serves the call; ``pump`` runs in a thread of its own,
    every other method in the loop. ``shutting_down`` is set when the server ended it.
    """

    def __init__(
        self,
        consumer: GroupConsumer,
        *,
        credit: int,
        storage: Executor,
        message_bytes: int,
    ):
        self.consumer = consumer
        self.shutting_down = False
        self._loop = asyncio.get_running_loop()
        self._storage = storage
        self._message_bytes = message_bytes
        self._credit = credit
        self._condition = threading.Condition()
        self._stopped = False
        self._left: asyncio.Future[None] | None = None
        self._outbox: asyncio.Queue[Delivery | _End | BaseException] = asyncio.Queue()
        self._outstanding: dict[int, Delivery] = {}
        self._last_id = 0

    @property
    def unspent_credit(self) -> int:
        """How many more deliveries the client has made room for."""
        with self._condition:
            return self._credit

    def pump(self) -> None:
        """Take deliveries from the consumer while the client has credit, until it leaves
        (runs in a thread of its own: ``next()`` blocks)."""
        try:
            while True:
                with self._condition:
                    while self._credit <= 0 and not self._stopped:
                        self._condition.wait()
                    if self._stopped:
                        break
                    self._credit -= 1
                try:
                    delivery = next(self.consumer)
                except StopIteration:
                    break
                self._hand(delivery)
        except BaseException as error:  # handed to the loop, which ends the call with it
            self._hand(error)
            return
        self._hand(_END)

    def _hand(self, item: Delivery | _End | BaseException) -> None:
        # A closed loop (RuntimeError): the server is gone, and the call with it.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, item)

    def grant(self, count: int) -> None:
        """Room for ``count`` more deliveries."""
        with self._condition:
            self._credit += count
            self._condition.notify()

    def fail(self, error: BaseException) -> None:
        """End the call with ``error`` (bad input from the client)."""
        self._outbox.put_nowait(error)

    async def responses(self) -> AsyncIterator[consumer_groups_pb2.ConsumeResponse]:
        """The deliveries as they come, batched (as many as are ready, up to about
        ``message_bytes`` of payload); ends when the consumer's deliveries end. Raises
        what ended the call otherwise."""
        while True:
            batch = consumer_groups_pb2.ConsumeResponse()
            deliveries = batch.deliveries.deliveries
            size = 0
            item = await self._outbox.get()
            while True:
                if isinstance(item, _End | GroupNotFoundError):
                    # A deleted group ends its consumers' iterations: the stream ends
                    # cleanly, as the contract says.
                    if deliveries:
                        yield batch
                    return
                if isinstance(item, BaseException):
                    if deliveries:
                        yield batch
                    raise item
                self._last_id += 1
                self._outstanding[self._last_id] = item
                added = deliveries.add(attempt=item.attempt, delivery_id=self._last_id)
                added.event.CopyFrom(stored_event_to_wire(item.event))
                size += len(added.event.payload) + len(added.event.metadata)
                if size >= self._message_bytes or self._outbox.empty():
                    break
                item = self._outbox.get_nowait()
            yield batch

    def _take(self, delivery_ids: Iterable[int]) -> list[Delivery]:
        """The outstanding deliveries of these ids, no longer outstanding; unknown ids and
        settled ones are left out (settling twice changes nothing)."""
        taken = []
        for delivery_id in delivery_ids:
            delivery = self._outstanding.pop(delivery_id, None)
            if delivery is not None:
                taken.append(delivery)
        return taken

    async def ack(self, delivery_ids: Iterable[int]) -> None:
        """Settle these deliveries as done."""
        deliveries = self._take(delivery_ids)
        if deliveries:
            await self._run(_ack_all, deliveries)

    async def nack(self, delivery_id: int, reason: str) -> None:
        """Settle this delivery as failed, for ``reason``."""
        for delivery in self._take((delivery_id,)):
            await self._run(_nack, delivery, reason)

    async def leave(self) -> None:
        """Leave the group: stop the pump, close the consumer (what it holds goes back to
        the group) and end the deliveries. Once, however often it is called; the close
        completes even if the caller is cancelled meanwhile."""
        if self._left is None:
            with self._condition:
                self._stopped = True
                self._condition.notify()
            self._left = asyncio.ensure_future(self._run(self.consumer.close))
            self._left.add_done_callback(lambda _: self._outbox.put_nowait(_END))
        await asyncio.shield(self._left)

    async def _run(self, function: Callable[..., _T], *arguments: Any) -> _T:
        return await self._loop.run_in_executor(self._storage, function, *arguments)


def _ack_all(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        delivery.ack()


def _nack(delivery: Delivery, reason: str) -> None:
    delivery.nack(reason=reason)
