"""What a group consumer over gRPC keeps between messages; transport-free.

Shared by the blocking ``GrpcGroupConsumer`` and the asyncio one, so both join, grant
credit and settle identically:

- ``join()`` is the first message of the stream;
- ``receive()`` takes a response: the joined id, or deliveries into the buffer;
- ``pop()`` hands out the next delivery and counts the credit it frees; ``credit_due()``
  says when to give that credit back (in batches of half the window, or at once before
  waiting on an empty buffer when the server has less than half the window left, so it
  is never left without credit while the client waits);
- acknowledgements are gathered (``Settlements``) and sent as one ``Ack`` per batch,
  which carries the credit due as well when the server takes it there (``ack_credit``,
  said on joining): a busy consumer's settling and granting then cost one message;
- once the stream is lost (``lose()``), settling does nothing: the server gives what the
  consumer held back to the group;
- a consumer that leaves gives back what it fetched ahead and never handed out
  (``give_back()``), so those streams move on at once instead of after the ack timeout.

A lost stream is not joined again behind the application's back: the deliveries it holds
can no longer be settled, which it should know, and where to join again (the same server,
another one behind a balancer) is its choice. The iteration raises the documented error
(``StorageUnavailableError`` for a server or connection gone).
"""

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Final

from logicblocks.event.store.consumer import Delivery
from logicblocks.event.store.exceptions import ConfigurationError
from logicblocks.event.types import StoredEvent
from logicblocks.event.v1 import consumer_groups_pb2

from .wire import stored_event_from_wire

__all__ = [
    "ACKS",
    "ACK_DELAY",
    "DEFAULT_CREDIT",
    "FLUSH_COUNT",
    "ConsumeSession",
    "GrpcDelivery",
    "Outgoing",
    "Settlements",
    "credit_request",
    "leaving_requests",
    "nack_request",
    "outgoing_request",
    "weakly",
]

# Deliveries a consumer lets the server send ahead of its application: enough to hide a
# round trip, few enough that buffered deliveries rarely outlive their ack timeout.
DEFAULT_CREDIT = 100


# How long a blocking consumer's acks may wait to be sent together, and how many are
# sent at once whatever the wait: far below any ack timeout, far above the time between
# two acks of a busy consumer.
ACK_DELAY = 0.01
FLUSH_COUNT = 256


class _Acks:
    """Stands in the outbox for the acknowledgements gathered since it was put there."""


ACKS: Final = _Acks()

# What a consumer's outbox holds: a request, the gathered acks, or None (half-close).
Outgoing = consumer_groups_pb2.ConsumeRequest | _Acks | None


def weakly(
    settle: Callable[["GrpcDelivery", str | None], None],
) -> Callable[["GrpcDelivery", str | None], None]:
    """``settle`` (a consumer's bound method), called only while its consumer lives: the
    session and the deliveries it buffers hold this instead, so an application that drops
    its consumer unclosed lets it be collected and leave. A delivery handed to the
    application keeps its consumer alive itself (``GrpcDelivery.held_by``)."""
    method = weakref.WeakMethod(settle)

    def settle_weakly(delivery: "GrpcDelivery", reason: str | None) -> None:
        bound = method()
        if bound is not None:
            bound(delivery, reason)

    return settle_weakly


def leaving_requests(session: "ConsumeSession") -> list[consumer_groups_pb2.ConsumeRequest | None]:
    """What a consumer that leaves sends last: the ``GiveBack`` of what it fetched ahead
    (when it has any to give), then ``None``, the half-close."""
    unstarted = session.give_back()
    return [None] if unstarted is None else [unstarted, None]


def outgoing_request(
    item: consumer_groups_pb2.ConsumeRequest | _Acks, settlements: "Settlements"
) -> consumer_groups_pb2.ConsumeRequest:
    """The message an outbox item stands for (``ACKS``: the acks gathered now)."""
    return settlements.take() if isinstance(item, _Acks) else item


class Settlements:
    """Acknowledgements and credit waiting to be sent, gathered into one ``Ack``
    (thread-safe). ``clock``: seconds, for how long a batch has waited."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._credit = 0
        self._since = 0.0

    def add(self, delivery_id: int) -> int:
        """Gather ``delivery_id``; how many ids are gathered now (1: the first since the
        last were taken)."""
        with self._lock:
            self._open()
            self._ids.append(delivery_id)
            return len(self._ids)

    def grant(self, count: int) -> bool:
        """Gather ``count`` credit, to go with the acks; whether the batch was empty."""
        with self._lock:
            opened = self._open()
            self._credit += count
            return opened

    def _open(self) -> bool:
        # Under the lock, before adding: whether this starts a batch, whose age counts
        # from its first ack or credit.
        if self._ids or self._credit:
            return False
        self._since = self._clock()
        return True

    @property
    def pending(self) -> bool:
        """Whether any acks or credit are gathered."""
        return bool(self._ids) or self._credit > 0

    def due_in(self, delay: float) -> float | None:
        """Seconds until the oldest of the batch has waited ``delay`` (0 when it has),
        ``None`` when nothing is gathered."""
        with self._lock:
            if not self.pending:
                return None
            return max(0.0, self._since + delay - self._clock())

    def take(self) -> consumer_groups_pb2.ConsumeRequest:
        """The ``Ack`` of every id and the credit gathered (possibly none), which are then
        forgotten."""
        with self._lock:
            ids, self._ids = self._ids, []
            credit, self._credit = self._credit, 0
        return consumer_groups_pb2.ConsumeRequest(
            ack=consumer_groups_pb2.ConsumeRequest.Ack(delivery_ids=ids, credit=credit)
        )


class GrpcDelivery(Delivery):
    """A delivery received over gRPC; settling it sends an ack or a nack on the stream it
    came on (nothing once that stream is gone: the server gave the event back)."""

    def __init__(
        self,
        wire: consumer_groups_pb2.ConsumeResponse.Delivery,
        settle: Callable[["GrpcDelivery", str | None], None],
    ):
        super().__init__(attempt=wire.attempt)
        self._event = stored_event_from_wire(wire.event)
        self.delivery_id = wire.delivery_id
        # The consumer that handed it out: kept alive while the application holds the
        # delivery (the session settles through a weak reference to it: see ``weakly``).
        self.held_by: object = None
        self._settle = settle
        self._settled = False

    @property
    def event(self) -> StoredEvent:
        return self._event

    def ack(self) -> None:
        if not self._settled:
            self._settled = True
            self._settle(self, None)

    def nack(self, *, reason: str) -> None:
        if not self._settled:
            self._settled = True
            self._settle(self, str(reason))


class ConsumeSession:
    """A group consumer's state across the messages of its stream."""

    def __init__(
        self,
        *,
        group: str,
        consumer_id: str | None,
        credit: int,
        settle: Callable[[GrpcDelivery, str | None], None],
    ):
        if not isinstance(credit, int) or not 1 <= credit <= 100_000:
            raise ConfigurationError(f"credit must be from 1 to 100000, not {credit}")
        self.group = group
        self.consumer_id = consumer_id
        self.credit = credit
        self.joined = False
        # Whether the server takes credit in acks (it says when the consumer joined).
        self.ack_credit = False
        self.lost = False
        self.buffer: deque[GrpcDelivery] = deque()
        # The highest delivery id read from the stream (the server numbers them in order).
        self.received_through = 0
        self._settle = settle
        self._freed = 0
        # How many more deliveries the server may send: what it was granted, less what came.
        self._unspent = credit

    def join(self) -> consumer_groups_pb2.ConsumeRequest:
        """The first message of the stream."""
        join = consumer_groups_pb2.ConsumeRequest.Join(group=self.group, credit=self.credit)
        if self.consumer_id is not None:
            join.consumer_id = self.consumer_id
        return consumer_groups_pb2.ConsumeRequest(join=join)

    def receive(self, response: consumer_groups_pb2.ConsumeResponse) -> None:
        """Take one response of the stream."""
        kind = response.WhichOneof("content")
        if kind == "joined":
            self.joined = True
            self.consumer_id = response.joined.consumer_id
            self.ack_credit = response.joined.ack_credit
        elif kind == "deliveries":
            deliveries = response.deliveries.deliveries
            self._unspent -= len(deliveries)
            for wire in deliveries:
                self.buffer.append(GrpcDelivery(wire, self._settle))
            if deliveries:
                # After the buffer took them: a closing thread that reads it earlier gives
                # back (from the server's side) what it may not have drained, and the
                # iterating thread hands nothing out before it looks at ``closed`` again.
                self.received_through = deliveries[-1].delivery_id

    def pop(self) -> GrpcDelivery | None:
        """The next delivery received, if any; its credit is freed."""
        try:
            # Not checked first: a closing thread may empty the buffer meanwhile.
            delivery = self.buffer.popleft()
        except IndexError:
            return None
        self._freed += 1
        return delivery

    def give_back(self) -> consumer_groups_pb2.ConsumeRequest | None:
        """The ``GiveBack`` of every delivery received and not handed out, which the buffer
        no longer holds, and of every one not yet read (``received_through``): for a
        consumer about to leave, so their streams move on at once. ``None`` before joining
        or once lost. Each delivery goes either to the application or into it, never both,
        whichever thread calls ``pop`` meanwhile (one that reads later sees the consumer
        closed before it hands anything out)."""
        if not self.joined or self.lost:
            return None
        ids = []
        while True:
            try:
                ids.append(self.buffer.popleft().delivery_id)
            except IndexError:
                break
        return consumer_groups_pb2.ConsumeRequest(
            give_back=consumer_groups_pb2.ConsumeRequest.GiveBack(
                delivery_ids=ids, received_through=self.received_through
            )
        )

    def credit_due(self) -> int | None:
        """The credit to give back now, if any: once half the window is freed, or whatever
        is freed when the buffer is empty (the client is about to wait) and the server
        has less than half the window left to send."""
        half = max(1, self.credit // 2)
        if self._freed == 0 or (self._freed < half and (self.buffer or self._unspent >= half)):
            return None
        count, self._freed = self._freed, 0
        self._unspent += count
        return count

    def lose(self) -> None:
        """The stream is gone: what was received can no longer be settled or handed out."""
        self.lost = True
        self.buffer.clear()


def credit_request(count: int) -> consumer_groups_pb2.ConsumeRequest:
    """A ``Credit`` of ``count``, for a server that takes no credit in acks."""
    return consumer_groups_pb2.ConsumeRequest(
        credit=consumer_groups_pb2.ConsumeRequest.Credit(count=count)
    )


def nack_request(delivery: GrpcDelivery, reason: str) -> consumer_groups_pb2.ConsumeRequest:
    """The ``Nack`` of ``delivery`` for ``reason``."""
    return consumer_groups_pb2.ConsumeRequest(
        nack=consumer_groups_pb2.ConsumeRequest.Nack(
            delivery_id=delivery.delivery_id, reason=reason
        )
    )
