"""One ``Consume`` stream: a group consumer of the engine, served from the event loop.

The pump, a task in the event loop, takes as many of the engine's deliveries as the
client has credit for at once (``LocalGroupConsumer.take_ready``) and waits, never in a
thread, until the consumer signals more may be ready; the loop numbers each delivery
(``delivery_id``), remembers it until the client settles it, and sends them in batches,
their stored JSON text as it is. Settling (``ack``, ``nack``) runs in the loop too: it
only takes the consumer's lock, which nothing holds across I/O (the consumer's member loop
saves what was settled). Leaving (``close``) touches storage, so it runs on the storage
executor.

Memory per stream is bounded by the client's credit: the pump takes no delivery the
client has not made room for, so at most ``credit`` deliveries wait to be sent.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from logicblocks.event.storage.groups.consumer import LocalGroupConsumer, Picked
from logicblocks.event.store import GroupNotFoundError
from logicblocks.event.v1 import consumer_groups_pb2

from .wire import fill_stored_event

__all__ = ["ConsumerStream", "Traffic"]

_log = logging.getLogger("logicblocks.event.server")

_T = TypeVar("_T")


class Traffic(Protocol):
    """Where a stream reports what it sent and what its client settled (the metrics)."""

    def sent(self, deliveries: int, redeliveries: int) -> None:
        """A message carried ``deliveries``, ``redeliveries`` of them not a first attempt."""

    def acknowledged(self, count: int) -> None:
        """``count`` acknowledgements of outstanding deliveries were taken."""

    def rejected(self) -> None:
        """A rejection of an outstanding delivery was taken."""


class _End:
    """The consumer's deliveries have ended (it left, or its iteration ended)."""


_END = _End()


class ConsumerStream:
    """The consumer of one ``Consume`` call: credit, deliveries in flight, and leaving.

    Made in the event loop that serves the call; every method runs in that loop.
    ``shutting_down`` is set when the server ended it.
    """

    def __init__(
        self,
        consumer: LocalGroupConsumer,
        *,
        credit: int,
        storage: Executor,
        message_bytes: int,
        traffic: Traffic | None = None,
    ):
        self.consumer = consumer
        self._traffic = traffic
        self.shutting_down = False
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._storage = storage
        self._message_bytes = message_bytes
        self._credit = credit
        # Set when there may be something to take: deliveries, credit, or leaving.
        self._wake = asyncio.Event()
        self._stopped = False
        self._left: asyncio.Future[None] | None = None
        self._outbox: asyncio.Queue[list[Picked] | _End | BaseException] = asyncio.Queue()
        self._outstanding: dict[int, Picked] = {}
        self._given_back = False
        self._last_id = 0
        consumer.on_deliverable = self._deliverable

    @property
    def unspent_credit(self) -> int:
        """How many more deliveries the client has made room for."""
        return self._credit

    def _deliverable(self) -> None:
        # Called by the consumer from any thread, the loop's own among them (settling).
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            # A closed loop (RuntimeError): the server is gone, and the call with it.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def pump(self) -> None:
        """Take deliveries from the consumer while the client has credit, as many at once
        as are ready, until it leaves; waits in the loop, never in a thread.

        The consumer counts as waiting for deliveries (and so stays live) only while the
        client has credit: a client that stops taking what it was sent goes silent, and
        after ``member_timeout`` its streams move to the group's other consumers."""
        counted = False
        try:
            while not self._stopped:
                self._wake.clear()
                if self._credit > 0:
                    if not counted:
                        self.consumer.set_waiting(True)
                        counted = True
                    taken = self.consumer.take_ready(self._credit)
                    if taken is None:
                        break
                    if taken:
                        self._credit -= len(taken)
                        self._outbox.put_nowait(taken)
                        continue
                    # Deadlines and retries come due by themselves: look again then.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.consumer.next_due()):
                            await self._wake.wait()
                else:
                    if counted:
                        self.consumer.set_waiting(False)
                        counted = False
                    if self.consumer.finished:
                        # Ended (the group deleted, or an error): say so without credit.
                        self.consumer.take_ready(0)
                        break
                    await self._wake.wait()
        except Exception as error:  # handed to responses(), which ends the call with it
            self._outbox.put_nowait(error)
            return
        finally:
            if counted:
                self.consumer.set_waiting(False)
        self._outbox.put_nowait(_END)

    def grant(self, count: int) -> None:
        """Room for ``count`` more deliveries (none once deliveries were given back)."""
        if self._given_back:
            return
        self._credit += count
        self._wake.set()

    def fail(self, error: BaseException) -> None:
        """End the call with ``error`` (bad input from the client)."""
        self._outbox.put_nowait(error)

    async def responses(self) -> AsyncIterator[consumer_groups_pb2.ConsumeResponse]:
        """The deliveries as they come, batched (as many as are ready, up to about
        ``message_bytes`` of payload per message); ends when the consumer's deliveries
        end. Raises what ended the call otherwise."""
        outstanding, limit = self._outstanding, self._message_bytes
        while True:
            batch = consumer_groups_pb2.ConsumeResponse()
            add = batch.deliveries.deliveries.add
            size = again = 0
            item = await self._outbox.get()
            while True:
                if isinstance(item, _End | GroupNotFoundError):
                    # A deleted group ends its consumers' iterations: the stream ends
                    # cleanly, as the contract says.
                    if batch.deliveries.deliveries:
                        yield self._counted(batch, again)
                    return
                if isinstance(item, BaseException):
                    if batch.deliveries.deliveries:
                        yield self._counted(batch, again)
                    raise item
                last_id = self._last_id
                for delivery in item:
                    if size >= limit:
                        yield self._counted(batch, again)
                        batch = consumer_groups_pb2.ConsumeResponse()
                        add = batch.deliveries.deliveries.add
                        size = again = 0
                    last_id += 1
                    outstanding[last_id] = delivery
                    handout = delivery[1]
                    record = handout.record
                    attempt = handout.attempt
                    fill_stored_event(add(attempt=attempt, delivery_id=last_id).event, record)
                    if attempt > 1:
                        again += 1
                    # Characters for bytes: near enough for a bound on the message size.
                    size += len(record.payload) + len(record.metadata or "")
                self._last_id = last_id
                if size >= limit or self._outbox.empty():
                    break
                item = self._outbox.get_nowait()
            yield self._counted(batch, again)

    def _counted(
        self, batch: consumer_groups_pb2.ConsumeResponse, redeliveries: int
    ) -> consumer_groups_pb2.ConsumeResponse:
        # Reported as the batch goes out: deliveries given back before they were sent
        # never count.
        if self._traffic is not None:
            self._traffic.sent(len(batch.deliveries.deliveries), redeliveries)
        return batch

    def _take(self, delivery_ids: Iterable[int]) -> list[Picked]:
        """The outstanding deliveries of these ids, no longer outstanding; unknown ids and
        settled ones are left out (settling twice changes nothing)."""
        taken = []
        for delivery_id in delivery_ids:
            delivery = self._outstanding.pop(delivery_id, None)
            if delivery is not None:
                taken.append(delivery)
        return taken

    def ack(self, delivery_ids: Iterable[int]) -> None:
        """Settle these deliveries as done."""
        deliveries = self._take(delivery_ids)
        if deliveries:
            self.consumer.settle(deliveries, None)
            if self._traffic is not None:
                self._traffic.acknowledged(len(deliveries))

    def nack(self, delivery_id: int, reason: str) -> None:
        """Settle this delivery as failed, for ``reason``."""
        deliveries = self._take((delivery_id,))
        if deliveries:
            self.consumer.settle(deliveries, reason)
            if self._traffic is not None:
                self._traffic.rejected()

    def give_back(self, delivery_ids: Iterable[int], received_through: int | None) -> None:
        """Hand these deliveries back unstarted, with every one numbered after
        ``received_through`` (when given) and every one not yet numbered; send nothing
        more, whatever credit comes after (the client is about to leave)."""
        self._credit = 0
        self._given_back = True
        deliveries = self._take(delivery_ids)
        if received_through is not None:
            deliveries += self._take([i for i in self._outstanding if i > received_through])
        # Taken from the consumer, never numbered: the client cannot have seen them.
        kept: list[list[Picked] | _End | BaseException] = []
        while not self._outbox.empty():
            item = self._outbox.get_nowait()
            if isinstance(item, list):
                deliveries += item
            else:
                kept.append(item)
        for item in kept:
            self._outbox.put_nowait(item)
        if deliveries:
            self.consumer.give_back(deliveries)

    async def leave(self) -> None:
        """Leave the group: stop the pump, close the consumer (what it holds goes back to
        the group) and end the deliveries. Once, however often it is called; the close
        completes even if the caller is cancelled meanwhile."""
        if self._left is None:
            self._stopped = True
            self._wake.set()
            self._left = asyncio.ensure_future(self._run(self.consumer.close))
            self._left.add_done_callback(lambda _: self._outbox.put_nowait(_END))
        await asyncio.shield(self._left)

    async def _run(self, function: Callable[..., _T], *arguments: Any) -> _T:
        return await self._loop.run_in_executor(self._storage, function, *arguments)
