"""A consumer of a group over gRPC, for blocking code: the ``Consume`` RPC as an iterator.

One bidirectional call per connection. gRPC reads the requests from a generator in a
thread of its own (``_requests``), fed by an outbox queue: the join, then the
settlements (gathered acks, nacks) and credit, then the half-close that leaves the
group. The responses are read by the thread iterating the consumer. What the two share
(credit, buffer, rejoining) is ``ConsumeSession``.
"""

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc

from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.v1 import consumer_groups_pb2, consumer_groups_pb2_grpc

from .consume_session import (
    ACKS,
    DEFAULT_CREDIT,
    ConsumeSession,
    GrpcDelivery,
    Outgoing,
    Settlements,
    nack_request,
    outgoing_request,
)
from .errors import documented_error

__all__ = ["CLOSE_SECONDS", "GrpcGroupConsumer"]

# How long close() waits for the server to confirm the consumer left before cancelling
# the call (the server then leaves the group all the same).
CLOSE_SECONDS = 10.0


def _requests(
    first: consumer_groups_pb2.ConsumeRequest,
    outbox: "queue.SimpleQueue[Outgoing]",
    settlements: Settlements,
) -> Iterator[consumer_groups_pb2.ConsumeRequest]:
    """The messages of one connection: the join, then the outbox until its ``None``."""
    yield first
    while True:
        item = outbox.get()
        if item is None:
            return
        yield outgoing_request(item, settlements)


class GrpcGroupConsumer(GroupConsumer):
    """Joins group ``group`` through ``stub`` when made, and iterates its deliveries.

    Raises, when made, ``GroupNotFoundError`` for a group that does not exist, and the
    gRPC clients' other documented errors. After a lost connection it joins again (with
    backoff, for as long as it takes) under the same consumer id; deliveries of the lost
    connection are delivered again by the group, and settling them does nothing. The
    iteration ends when the consumer is closed or the group deleted. ``credit``: how many
    deliveries the server may send ahead of the application.
    """

    def __init__(
        self,
        *,
        stub: consumer_groups_pb2_grpc.ConsumerGroupServiceStub,
        group: str,
        consumer_id: str | None,
        metadata: tuple[tuple[str, str], ...] = (),
        credit: int = DEFAULT_CREDIT,
    ):
        self._stub = stub
        self._metadata = metadata
        self._session = ConsumeSession(
            group=group, consumer_id=consumer_id, credit=credit, settle=self._settle
        )
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._ended = False
        self._reading = False
        # The current connection's: a grpc call iterator (untyped in grpc-stubs), its
        # outbox and its gathered acks.
        self._call: Any = None
        self._outbox: queue.SimpleQueue[Outgoing] | None = None
        self._settlements = Settlements()
        try:
            self._join()
        except grpc.RpcError as error:
            raise documented_error(error) from None

    @property
    def consumer_id(self) -> str:
        return self._session.consumer_id or ""

    def _join(self) -> None:
        """Open a connection and wait for the server's ``joined``; raises ``RpcError``."""
        outbox: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        settlements = Settlements()
        with self._lock:
            first = self._session.join()
            if self._outbox is not None:
                self._outbox.put(None)  # ends the lost connection's request generator
            self._outbox, self._settlements = outbox, settlements
        try:
            # A grpc.CallIterator (typed without __next__ in grpc-stubs).
            call: Any = self._stub.Consume(
                _requests(first, outbox, settlements), metadata=self._metadata
            )
        except ValueError:
            # grpc refuses a call on a closed channel before sending anything.
            raise StorageUnavailableError("the adapter is closed") from None
        with self._lock:
            self._call = call
        while not self._session.joined:
            try:
                response = next(call)
            except StopIteration:
                # Ended before joining: closed meanwhile.
                self._ended = True
                return
            self._session.receive(response)

    def _settle(self, delivery: GrpcDelivery, reason: str | None) -> None:
        with self._lock:
            if not self._session.current(delivery) or self._outbox is None:
                return  # its connection is gone: the group delivers it again anyway
            outbox, settlements = self._outbox, self._settlements
        if reason is None:
            if settlements.add(delivery.delivery_id):
                outbox.put(ACKS)
        else:
            outbox.put(nack_request(delivery, reason))

    def _send_credit(self) -> None:
        credit = self._session.credit_due()
        if credit is not None and self._outbox is not None:
            self._outbox.put(credit)

    def __next__(self) -> Delivery:
        while not self._closed.is_set() and not self._ended:
            delivery = self._session.pop()
            if delivery is not None:
                self._send_credit()
                return delivery
            self._send_credit()
            with self._lock:
                call = self._call
                self._reading = call is not None
            try:
                if call is None:
                    self._join()
                    continue
                response = next(call)
            except StopIteration:
                # The server ended the stream cleanly: the group was deleted, or this
                # consumer closed.
                self._ended = True
                break
            except grpc.RpcError as error:
                with self._lock:
                    self._call = None
                if self._closed.is_set():
                    break
                # Raises the documented error of a failure that is not a lost server.
                self._closed.wait(self._session.retry_delay(error, documented_error))
                continue
            finally:
                with self._lock:
                    self._reading = False
            self._session.receive(response)
        raise StopIteration

    def close(self) -> None:
        """Leave the group: the settlements made so far are sent first; what the consumer
        holds unsettled goes back to the group. Waits (up to ``CLOSE_SECONDS``) for the
        server to confirm, unless another thread is iterating (it sees the end)."""
        if self._closed.is_set():
            return
        self._closed.set()
        with self._lock:
            outbox, call, reading = self._outbox, self._call, self._reading
        if outbox is not None:
            outbox.put(None)  # the half-close, after every settlement queued before it
        if call is None or reading:
            return
        timer = threading.Timer(CLOSE_SECONDS, call.cancel)
        timer.daemon = True
        timer.start()
        try:
            # Deliveries still coming are the server's to give back: read past them.
            for _ in call:
                pass
        except grpc.RpcError:
            pass
        finally:
            timer.cancel()
