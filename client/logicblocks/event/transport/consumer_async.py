"""A consumer of a group over gRPC for asyncio programs: ``async for`` without threads.

The asyncio twin of ``GrpcGroupConsumer`` (same ``ConsumeSession``, same behaviour): one
``grpc.aio`` call, a writer task sending the outbox (settlements, credit, the
half-close), and ``__anext__`` reading the responses. Settling a delivery may be done
from any thread: it is handed to the consumer's loop.
"""

import asyncio
import contextlib
import weakref
from types import TracebackType
from typing import Any, Self

import grpc

from logicblocks.event.store.consumer import Delivery
from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.v1 import consumer_groups_pb2_grpc

from .consume_session import (
    ACKS,
    DEFAULT_CREDIT,
    ConsumeSession,
    GrpcDelivery,
    Outgoing,
    Settlements,
    credit_request,
    leaving_requests,
    nack_request,
    outgoing_request,
    weakly,
)
from .consumer import CLOSE_SECONDS
from .errors import documented_error

__all__ = ["AsyncGrpcGroupConsumer"]


class AsyncGrpcGroupConsumer:
    """Iterates a group's deliveries with ``async for``; ``join()`` (awaited by
    ``AsyncGrpcStorageAdapter.consume_group``) joins, ``aclose()`` (or ``async with``)
    leaves. Behaves as ``GrpcGroupConsumer``: the iteration ends when it is closed or the
    group deleted, and raises ``StorageUnavailableError`` when the server goes away.
    """

    def __init__(
        self,
        *,
        stub: "consumer_groups_pb2_grpc.ConsumerGroupServiceAsyncStub",
        group: str,
        consumer_id: str | None,
        metadata: tuple[tuple[str, str], ...] = (),
        credit: int = DEFAULT_CREDIT,
    ):
        self._stub = stub
        self._metadata = metadata
        self._session = ConsumeSession(
            group=group, consumer_id=consumer_id, credit=credit, settle=weakly(self._settle)
        )
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._ended = False
        self._reading = False
        self._call: Any = None  # a grpc.aio.StreamStreamCall (untyped read() in grpc-stubs)
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._settlements = Settlements()
        self._writer: asyncio.Task[None] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def consumer_id(self) -> str:
        """The consumer's id in the group (given when joining, else made up by the server)."""
        return self._session.consumer_id or ""

    async def join(self) -> None:
        """Open the stream and wait until joined; raises the documented error."""
        try:
            # Without a request iterator: the writer task writes (grpc-stubs insists on one).
            call: Any = self._stub.Consume(metadata=self._metadata)  # type: ignore[call-arg]
        except (grpc.aio.UsageError, ValueError):
            raise StorageUnavailableError("the adapter is closed") from None
        self._call = call
        # Dropped unclosed, it leaves as close() has it, from whatever thread collects it.
        self._finalizer = weakref.finalize(
            self, _leave_dropped, self._loop, self._session, self._outbox, call
        )
        # At exit, tasks that may still iterate it are left alone.
        self._finalizer.atexit = False
        self._writer = asyncio.create_task(
            _write(call, self._session.join(), self._outbox, self._settlements)
        )
        try:
            while not self._session.joined:
                response = await call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]  # not in grpc-stubs
                    self._ended = True
                    raise StorageUnavailableError("the server ended the stream before joining")
                self._session.receive(response)
        except grpc.RpcError as error:
            self._lose()
            raise documented_error(error) from None

    def _lose(self) -> None:
        self._ended = True
        self._session.lose()
        # The call ended: nothing to leave, and the finalizer lets go of it (its error's
        # traceback may hold this consumer).
        if self._finalizer is not None:
            self._finalizer.detach()
        self._outbox.put_nowait(None)  # ends the writer

    def _settle(self, delivery: GrpcDelivery, reason: str | None) -> None:
        # Settlements come from any thread; the outbox is the loop's.
        if _loop_thread(self._loop):
            self._queue_settlement(delivery, reason)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue_settlement, delivery, reason)

    def _queue_settlement(self, delivery: GrpcDelivery, reason: str | None) -> None:
        if self._session.lost or self._closed:
            return  # the server gives the event back to the group anyway
        if reason is None:
            if self._settlements.add(delivery.delivery_id) == 1:
                self._outbox.put_nowait(ACKS)
        else:
            self._outbox.put_nowait(nack_request(delivery, reason))

    def _send_credit(self) -> None:
        count = self._session.credit_due()
        if count is None:
            return
        if not self._session.ack_credit:
            self._outbox.put_nowait(credit_request(count))
        elif self._settlements.grant(count):
            self._outbox.put_nowait(ACKS)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Delivery:
        while not self._closed and not self._ended:
            delivery = self._session.pop()
            if delivery is not None:
                self._send_credit()
                # Kept while the application holds the delivery: settling it counts.
                delivery.held_by = self
                return delivery
            self._send_credit()
            self._reading = True
            try:
                response = await self._call.read()
            except grpc.RpcError as error:
                self._lose()
                if self._closed:
                    break
                raise documented_error(error) from None
            finally:
                self._reading = False
            if response is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing in grpc-stubs
                # Ended cleanly: the group was deleted, or this consumer closed.
                self._ended = True
                break
            self._session.receive(response)
        raise StopAsyncIteration

    def close(self) -> None:
        """Leave the group (the settlements made so far are sent first, and the deliveries
        fetched ahead and never handed out are given back); does not wait."""
        if not self._closed:
            self._closed = True
            if self._finalizer is not None:
                self._finalizer.detach()
            for request in leaving_requests(self._session):
                self._outbox.put_nowait(request)

    async def aclose(self) -> None:
        """Leave the group and wait (up to ``CLOSE_SECONDS``) for the server to confirm,
        unless another task is reading the stream (it sees the end)."""
        self.close()
        call = self._call
        if call is None or self._reading or self._ended:
            return
        await _read_to_the_end(call)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _read_to_the_end(call: Any) -> None:
    """Read ``call``'s responses until the server ends it (it has the half-close), for up
    to ``CLOSE_SECONDS``; then cancel it. Deliveries still coming are the server's to give
    back."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            while await call.read() is not grpc.aio.EOF:  # type: ignore[attr-defined]
                pass
    except (grpc.RpcError, TimeoutError):
        call.cancel()


# The calls of consumers dropped unclosed, read to their end: held here until then, as
# gRPC cancels a call it collects (which would drop the give-back and acks queued).
_leaving: set["asyncio.Task[None]"] = set()


def _leave_dropped(
    loop: asyncio.AbstractEventLoop,
    session: ConsumeSession,
    outbox: "asyncio.Queue[Outgoing]",
    call: Any,
) -> None:
    # The finalizer of a consumer dropped unclosed (nothing iterates it any more); it may
    # run in any thread, so the leaving is handed to the consumer's loop.
    def leave() -> None:
        for request in leaving_requests(session):
            outbox.put_nowait(request)
        task = loop.create_task(_read_to_the_end(call))
        _leaving.add(task)
        task.add_done_callback(_leaving.discard)

    # A closed loop took the call with it: nothing is left to leave.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(leave)


def _loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _write(
    call: Any,
    first: Any,
    outbox: "asyncio.Queue[Outgoing]",
    settlements: Settlements,
) -> None:
    """Send one connection's messages: the join, then the outbox until its ``None``."""
    # The call's own failure is read by __anext__; a write to a failed call just stops.
    with contextlib.suppress(grpc.RpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
        await call.write(first)
        while True:
            item = await outbox.get()
            if item is None:
                await call.done_writing()
                return
            if item is ACKS and not settlements.pending:
                continue  # sent already, with an earlier ACKS
            await call.write(outgoing_request(item, settlements))
