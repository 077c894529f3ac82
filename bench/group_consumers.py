"""W9's consumer processes, spawned by ``bench.groups``: one plain subscription to the log,
or one consumer of a group. Each only receives and counts; the parent times them and
reads their CPU clocks itself.

Each process connects (a group consumer joins its group), sets its ``ready`` event, and
counts every event it receives (the subscription) or acknowledges (a group consumer) in
its own slot of ``counted``. The subscription starts reading when ``go`` is set; a group
consumer waits in the group for deliveries (the parent's reset of the group starts them).
``stop`` ends a process.

The slots are shared memory without a lock: each is written by its own process only, so
counting costs one store, not a lock that 4 processes on 2 cores would queue on (which
charged the group with the harness's waits), nor a sum of the slots per event. The parent
adds them up itself (``Shared.total``) every millisecond, and stops the clock once they
reach ``expected``.
"""

import ctypes
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.consumer import GroupConsumer

__all__ = ["Shared", "consume_group", "subscribe_log"]

# A stream no one writes: reading it connects the subscription's channel before the clock.
_CONNECT_STREAM = "w9-connect"


@dataclass
class Shared:
    """What the parent and its consumer processes share (one slot each in the arrays)."""

    processes: int
    expected: int
    go: Event
    stop: Event
    ready: list[Event]
    # Per process: events counted, the first one's time (time.monotonic, one clock for
    # every process of the machine), and deliveries that were not an event's first.
    counted: "ctypes.Array[ctypes.c_longlong]"
    firsts: "ctypes.Array[ctypes.c_double]"
    redelivered: "ctypes.Array[ctypes.c_longlong]"
    errors: "Queue[str]" = field(repr=False)

    @classmethod
    def make(cls, context: SpawnContext, processes: int, expected: int) -> "Shared":
        """Fresh shared state for ``processes`` processes counting to ``expected``."""
        return cls(
            processes=processes,
            expected=expected,
            go=context.Event(),
            stop=context.Event(),
            ready=[context.Event() for _ in range(processes)],
            counted=context.RawArray(ctypes.c_longlong, processes),
            firsts=context.RawArray(ctypes.c_double, processes),
            redelivered=context.RawArray(ctypes.c_longlong, processes),
            errors=context.Queue(),
        )

    def count(self, index: int, counted: int) -> None:
        """One more event counted by process ``index`` (its ``counted``-th)."""
        if counted == 1:
            self.firsts[index] = time.monotonic()
        self.counted[index] = counted

    @property
    def total(self) -> int:
        """Events counted so far, by every process."""
        return sum(self.counted)


def subscribe_log(target: str, index: int, shared: Shared) -> None:
    """One plain subscription to the log from its beginning, through ``target``, counting
    every event until ``expected`` have come."""
    try:
        with GrpcStorageAdapter(target=target) as adapter:
            store = EventStore(adapter)
            list(store.stream(category="w9", stream=_CONNECT_STREAM))
            shared.ready[index].set()
            shared.go.wait()
            subscription = store.log().subscribe()
            received = 0
            try:
                for event in subscription:
                    # Touch the payload so a lazily decoding client would pay for it here too.
                    if event.payload is None:
                        raise AssertionError("an event without a payload")
                    received += 1
                    shared.count(index, received)
                    if received >= shared.expected:
                        break
            finally:
                subscription.close()
    except Exception as error:
        shared.errors.put(f"subscription: {type(error).__name__}: {error}")
        shared.ready[index].set()


def _close_on_stop(stop: Event, consumer: GroupConsumer) -> None:
    stop.wait()
    consumer.close()


def consume_group(target: str, group: str, index: int, shared: Shared) -> None:
    """One consumer of ``group`` through ``target``: acknowledges every delivery and counts
    it, until ``stop``."""
    try:
        with GrpcStorageAdapter(target=target) as adapter:
            consumer = EventStore(adapter).consumer_group(group).consume(consumer_id=f"w9-{index}")
            with consumer:
                threading.Thread(
                    target=_close_on_stop, args=(shared.stop, consumer), daemon=True
                ).start()
                shared.ready[index].set()
                redelivered = 0
                for acked, delivery in enumerate(consumer, start=1):
                    if delivery.event.payload is None:
                        raise AssertionError("an event without a payload")
                    delivery.ack()
                    if delivery.attempt > 1:
                        redelivered += 1
                        shared.redelivered[index] = redelivered
                    shared.count(index, acked)
    except Exception as error:
        shared.errors.put(f"consumer {index}: {type(error).__name__}: {error}")
        shared.ready[index].set()
