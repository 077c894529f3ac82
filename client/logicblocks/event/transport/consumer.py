"""A consumer of a group over gRPC, for blocking code: the ``Consume`` RPC as an iterator.

One bidirectional call. gRPC reads the requests from a generator in a thread of its own
(``_requests``), fed by an outbox queue: the join, then the settlements (gathered acks,
nacks) and credit, then the half-close that leaves the group. The responses are read by
the thread iterating the consumer. What the blocking and asyncio consumers share (credit,
buffer, settlements) is ``ConsumeSession``.
"""

import queue
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import grpc

from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.v1 import consumer_groups_pb2, consumer_groups_pb2_grpc

from .consume_session import (
    ACK_DELAY,
    ACKS,
    DEFAULT_CREDIT,
    FLUSH_COUNT,
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
    """The messages of one connection: the join, then the outbox until its ``None``.

    Acknowledgements are sent when the outbox asks (``ACKS``: the consumer is about to
    wait for the server, or has gathered ``FLUSH_COUNT``), and otherwise at most
    ``ACK_DELAY`` after they were made: an idle look at the outbox lasts no longer.
    """
    yield first
    while True:
        # Idle, it looks again every ACK_DELAY: acks are gathered without waking it.
        due = settlements.due_in(ACK_DELAY)
        try:
            item = outbox.get(timeout=ACK_DELAY if due is None else due)
        except queue.Empty:
            item = ACKS
        if item is None:
            if settlements.pending:
                yield settlements.take()
            return
        if item is not ACKS:
            yield outgoing_request(item, settlements)
        # Sent when asked, and when the oldest has waited ACK_DELAY however busy the
        # outbox is (credit and nacks must not hold acks back past their timeout).
        if settlements.pending and (item is ACKS or settlements.due_in(ACK_DELAY) == 0):
            yield settlements.take()


def _read_to_the_end(call: Any) -> None:
    """Read ``call``'s responses until the server ends it (it has the half-close), for up
    to ``CLOSE_SECONDS``; then cancel it. Deliveries still coming are the server's to give
    back."""
    timer = threading.Timer(CLOSE_SECONDS, call.cancel)
    timer.daemon = True
    timer.start()
    try:
        for _ in call:
            pass
    except grpc.RpcError:
        pass
    finally:
        timer.cancel()


def _leave_dropped(
    session: ConsumeSession, outbox: "queue.SimpleQueue[Outgoing]", call: Any
) -> None:
    # The finalizer of a consumer dropped unclosed (nothing iterates it any more), which
    # may run in any thread: a SimpleQueue takes puts from finalizers. The call must stay
    # referenced, and read, until the server ends it: gRPC cancels a call it collects,
    # which would drop the give-back and acks queued here.
    for request in leaving_requests(session):
        outbox.put(request)
    _READER.put(call)


class _EndReader:
    """Reads the calls of consumers dropped unclosed to their end, each in a thread of its
    own. A finalizer only queues the call: it may run where a thread cannot be started
    (threading's own lock held, as the cycle collector can run anywhere)."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start reading, once (called as a consumer is made, never from a finalizer)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="group consumers leaving", daemon=True
                )
                self._thread.start()

    def put(self, call: Any) -> None:
        """Read ``call`` to its end (safe from a finalizer)."""
        self._calls.put(call)

    def _run(self) -> None:
        while True:
            call = self._calls.get()
            threading.Thread(
                target=_read_to_the_end, args=(call,), name="group consumer leaving", daemon=True
            ).start()


_READER = _EndReader()


class GrpcGroupConsumer(GroupConsumer):
    """Joins group ``group`` through ``stub`` when made, and iterates its deliveries.

    Raises, when made, ``GroupNotFoundError`` for a group that does not exist, and the
    gRPC clients' other documented errors. The iteration ends when the consumer is closed
    or the group deleted, and raises ``StorageUnavailableError`` when the server or the
    connection goes away: the group then delivers again what this consumer held, and
    settling those deliveries does nothing; join again (through this server or another)
    to go on. ``credit``: how many deliveries the server may send ahead of the
    application.
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
        self._session = ConsumeSession(
            group=group, consumer_id=consumer_id, credit=credit, settle=weakly(self._settle)
        )
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._ended = False
        self._reading = False
        self._outbox: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        self._settlements = Settlements()
        _READER.start()
        try:
            # A grpc.CallIterator (typed without __next__ in grpc-stubs).
            call: Any = stub.Consume(
                _requests(self._session.join(), self._outbox, self._settlements),
                metadata=metadata,
            )
        except ValueError:
            # grpc refuses a call on a closed channel before sending anything.
            raise StorageUnavailableError("the adapter is closed") from None
        self._call = call
        # Dropped unclosed, it leaves as close() has it, without waiting; at exit, threads
        # that may still iterate it are left alone (they end with Python).
        self._finalizer = weakref.finalize(self, _leave_dropped, self._session, self._outbox, call)
        self._finalizer.atexit = False
        try:
            while not self._session.joined:
                self._session.receive(next(self._call))
        except StopIteration:
            self._ended = True  # only when the server ended the stream unasked: say so
            self._stream_over()
            raise StorageUnavailableError("the server ended the stream before joining") from None
        except grpc.RpcError as error:
            self._session.lose()
            self._stream_over()
            raise documented_error(error) from None

    def _stream_over(self) -> None:
        # The call ended: there is nothing to leave, and the finalizer must let go of the
        # call, whose error's traceback holds this consumer (it would never be collected).
        self._finalizer.detach()
        self._outbox.put(None)  # ends the request generator

    @property
    def consumer_id(self) -> str:
        return self._session.consumer_id or ""

    def _settle(self, delivery: GrpcDelivery, reason: str | None) -> None:
        # Unlocked: an ack gathered as the stream is lost or closed is not sent, which is
        # what returning here does too.
        if self._session.lost or self._closed.is_set():
            return  # the server gives the event back to the group anyway
        if reason is None:
            # Sent with the next ones: see _requests.
            if self._settlements.add(delivery.delivery_id) == FLUSH_COUNT:
                self._outbox.put(ACKS)
        else:
            self._outbox.put(nack_request(delivery, reason))

    def __next__(self) -> Delivery:
        while not self._closed.is_set() and not self._ended:
            delivery = self._session.pop()
            if delivery is not None:
                self._send_credit()
                # Kept while the application holds the delivery: settling it counts.
                delivery.held_by = self
                return delivery
            self._send_credit()
            if self._settlements.pending:
                # About to wait for the server: what was settled (and credit) goes now.
                self._outbox.put(ACKS)
            with self._lock:
                self._reading = True
            try:
                response = next(self._call)
            except StopIteration:
                # The server ended the stream cleanly: the group was deleted, or this
                # consumer closed.
                self._ended = True
                self._stream_over()
                break
            except grpc.RpcError as error:
                self._ended = True
                with self._lock:
                    self._session.lose()
                self._stream_over()
                if self._closed.is_set():
                    break
                raise documented_error(error) from None
            finally:
                with self._lock:
                    self._reading = False
            self._session.receive(response)
        raise StopIteration

    def _send_credit(self) -> None:
        count = self._session.credit_due()
        if count is None:
            return
        if self._session.ack_credit:
            # With the next acks: within ACK_DELAY, or at once when about to wait.
            self._settlements.grant(count)
        else:
            self._outbox.put(credit_request(count))

    def close(self) -> None:
        """Leave the group: the settlements made so far are sent first, and the deliveries
        fetched ahead and never handed out are given back; what the application holds
        unsettled goes back to the group after its ack timeout. Waits (up to
        ``CLOSE_SECONDS``) for the server to confirm, unless another thread is iterating
        (it sees the end)."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            reading = self._reading
        self._finalizer.detach()
        # The half-close last, after every settlement queued before it.
        for request in leaving_requests(self._session):
            self._outbox.put(request)
        if reading or self._ended:
            return
        _read_to_the_end(self._call)
