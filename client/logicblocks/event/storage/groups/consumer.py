"""``LocalGroupConsumer``: a member of a group served straight from an engine in this process.

Two threads of its own do the storage work, so the application's thread only waits for
deliveries and ``ack()``/``nack()`` never block on storage:

- the member loop (``member.py``): heartbeats, claims, renews and releases partitions,
  reads the group's target and feeds each owned partition's ``PartitionDispatcher``,
  saves progress in batches, and leaves on ``close()``;
- a watcher that waits for the head to move and wakes the loop (``head_watch.py``).

Every piece of state is guarded by one lock; the dispatchers are I/O-free and called
under it. Deliveries are handed out in ``__next__``, from the owned partition whose next
ready event has the lowest sequence number, only while the partition's lease runs at
least ``ack_timeout`` past now: a member that vanishes keeps its partitions until every
delivery it handed out is past its deadline, so a new owner never delivers a stream's next
event while an earlier one may still be in the old owner's hands.
"""

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.store.exceptions import InvalidInputError
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types import StoredEvent

from .dispatch import Handout
from .holdings import Holdings, Owned

if TYPE_CHECKING:
    # The engine base makes consumers; this module only calls it back.
    from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["LocalDelivery", "LocalGroupConsumer", "Picked"]

_T = TypeVar("_T")

# A delivery as the consumer decided on it: the partition held and the dispatcher's
# hand-out. What ``LocalDelivery`` wraps for the application, and what the server holds
# for each delivery it sends (a wrapper per event would cost it for nothing).
Picked = tuple[Owned, Handout]

# The longest __next__ waits before looking again by itself (wake-ups come sooner).
_NEXT_SLICE = 0.5
# How long settled deliveries may wait to be saved together: an ack is stored within it.
_SAVE_INTERVAL = 0.1
# How long close() waits for the loop's last save and releases.
_CLOSE_WAIT = 10.0


class LocalDelivery(Delivery):
    """A delivery of a ``LocalGroupConsumer``; settling it takes the consumer's lock only.

    Its event is decoded when first asked for: the server sends ``record``, the stored
    JSON text, as it is.
    """

    def __init__(self, *, consumer: "LocalGroupConsumer", owned: Owned, handout: Handout):
        super().__init__(attempt=handout.attempt)
        self.consumer = consumer
        self.owned = owned
        self.handout = handout
        # What the application reached it through (a LocalConsumerHandle): kept alive
        # while the application holds the delivery, so settling it still counts.
        self.held_by: object = None
        self._event: StoredEvent | None = None

    @property
    def record(self) -> EventRecord:
        """The event as stored, its payload still JSON text."""
        return self.handout.record

    @property
    def event(self) -> StoredEvent:
        if self._event is None:
            self._event = self.handout.record.to_stored_event()
        return self._event

    def ack(self) -> None:
        self.consumer.settle(((self.owned, self.handout),), None)

    def nack(self, *, reason: str) -> None:
        if not isinstance(reason, str):
            raise InvalidInputError("reason", "must be a string")
        self.consumer.settle(((self.owned, self.handout),), reason)


class LocalGroupConsumer(GroupConsumer):
    """A consumer of a group kept by an engine in this process (see the module's notes).

    Joins at once (raising ``GroupNotFoundError`` for a missing group). Iteration ends when
    the consumer is closed or the group deleted; a storage error that ends the member loop
    (storage unreachable for ``member_timeout``, or any other) is raised from ``__next__``.

    Its attributes are shared with the member loop, under ``lock``.
    """

    def __init__(
        self,
        *,
        adapter: "RecordStorageAdapter",
        name: str,
        consumer_id: str,
        clock: Callable[[], float],
    ):
        # Imported here: member.py drives this class and so imports it.
        from .member import MemberLoop

        self._id = consumer_id
        self._clock = clock
        self.lock = threading.Lock()
        # The member loop waits on ``wake``; __next__ waits on ``deliverable``.
        self.wake = threading.Condition(self.lock)
        self.deliverable = threading.Condition(self.lock)
        self.holdings = Holdings()
        self.closed = False
        self.ended = False
        self.error: BaseException | None = None
        self.waiting = 0
        self.last_active = clock()
        self.save_due: float | None = None
        # Called (under the lock, from any thread) whenever ``deliverable`` is notified.
        self.on_deliverable: Callable[[], None] | None = None
        self._loop = MemberLoop(adapter=adapter, name=name, consumer=self)
        self._thread = threading.Thread(
            target=self._loop.run, name=f"group {name} member {consumer_id}", daemon=True
        )
        self._thread.start()

    @property
    def consumer_id(self) -> str:
        return self._id

    def clock(self) -> float:
        """Seconds since the epoch: the time leases and members are stored in."""
        return self._clock()

    def close(self) -> None:
        with self.lock:
            self._close()
        # The loop saves what was settled and releases what it can before it ends, so a
        # consumer that joins right after finds both.
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=_CLOSE_WAIT)

    def abandon(self) -> None:
        """Leave the group as ``close()`` does, without waiting: for a finalizer, which
        may run in any thread at any moment, that thread holding the lock among them.
        When the lock is free the loop is woken at once; otherwise it sees ``closed``
        when it next looks, within half a second."""
        self.closed = True
        if self.lock.acquire(blocking=False):
            try:
                self._close()
            finally:
                self.lock.release()

    def _close(self) -> None:
        # Under the lock.
        self.closed = True
        self.wake.notify_all()
        self.signal_deliverable()

    def tick_now(self) -> None:
        """Have the member loop read the group again now, not at its next tick (the group
        was changed through this engine)."""
        with self.lock:
            self._loop.tick_now()
            self.wake.notify()

    def __next__(self) -> LocalDelivery:
        taken = self.take(1)
        if not taken:
            raise StopIteration
        return taken[0]

    def take(self, limit: int) -> list[LocalDelivery]:
        """Up to ``limit`` deliveries, waiting until there is one; none once the iteration
        ended. One look under the lock for them all."""
        with self.lock:
            self.waiting += 1
            try:
                while not (picked := self._ready(limit)):
                    if picked is None:
                        return []
                    self.deliverable.wait(self._look_again_in())
            finally:
                self.waiting -= 1
        return self._deliveries(picked)

    def take_ready(self, limit: int) -> list[Picked] | None:
        """Up to ``limit`` deliveries ready now, without waiting, as picked (settled with
        ``settle`` and ``give_back`` as they are); ``None`` once the iteration ended. For
        a caller that waits elsewhere (the server's event loop): it learns when to look
        again from ``on_deliverable`` and ``next_due``."""
        with self.lock:
            return self._ready(limit)

    @property
    def finished(self) -> bool:
        """Whether the iteration ended (closed, the group deleted, or an error to raise)."""
        with self.lock:
            return self.closed or self.ended or self.error is not None

    def next_due(self) -> float:
        """Seconds until a deadline may pass or a retry come due, at most ``_NEXT_SLICE``
        (``take_ready`` is worth calling again then, unasked)."""
        with self.lock:
            return self._look_again_in()

    def _look_again_in(self) -> float:
        # Under the lock: until the next deadline or retry, at most _NEXT_SLICE.
        return min(max(self.holdings.timed_due - self._clock(), 0.001), _NEXT_SLICE)

    def set_waiting(self, waiting: bool) -> None:
        """Count a caller waiting for deliveries outside ``take`` (or stop counting it): a
        consumer heartbeats while one waits."""
        with self.lock:
            self.waiting += 1 if waiting else -1
            self.last_active = self._clock()
            if waiting:
                self.wake.notify()

    def signal_deliverable(self) -> None:
        """Deliveries may be ready, or the iteration ended (under the lock)."""
        self.deliverable.notify_all()
        if self.on_deliverable is not None:
            self.on_deliverable()

    def _ready(self, limit: int) -> list[Picked] | None:
        # Under the lock: what is ready now, or None once the iteration ended.
        if self.error is not None:
            raise self.error
        if self.closed or self.ended:
            return None
        now = self._clock()
        self.last_active = now
        self.expire(now)
        holdings = self.holdings
        picked = holdings.hand_out_many(now, self._loop.settings, limit)
        if not picked and not holdings.owned:
            # Maybe counted gone while idle: the loop beats again at its next tick.
            self.wake.notify()
        return picked

    def _deliveries(self, picked: list[Picked]) -> list[LocalDelivery]:
        # Made outside the lock: decoding, if asked for, is the costly step of a delivery.
        return [
            LocalDelivery(consumer=self, owned=owned, handout=handout) for owned, handout in picked
        ]

    def expire(self, now: float) -> None:
        """Fail the deliveries whose deadline passed (under the lock)."""
        if self.holdings.expire(now):
            self.changed(now, wake_loop=True)
            self.signal_deliverable()

    def changed(self, now: float, *, wake_loop: bool) -> None:
        """Something is to be saved (under the lock): the loop saves within its interval."""
        if self.save_due is None:
            self.save_due = now + _SAVE_INTERVAL
            wake_loop = True
        if wake_loop:
            self.wake.notify()

    def settle(self, deliveries: Iterable[Picked], reason: str | None) -> None:
        """Apply an ack (``reason`` ``None``) or a nack to each of ``deliveries``, under one
        hold of the lock."""
        with self.lock:
            now = self._clock()
            self.last_active = now
            holdings = self.holdings
            if reason is None:
                changed, wake_loop = self._apply_by_partition(deliveries, now)
            else:
                changed, wake_loop = self._apply(
                    deliveries, lambda owned, handout: holdings.settle(owned, handout, reason, now)
                )
            if changed:
                self.signal_deliverable()
                self.changed(now, wake_loop=wake_loop)

    def give_back(self, deliveries: Iterable[Picked]) -> None:
        """Hand ``deliveries`` back unstarted: their events go out again as if they had not
        been delivered (no attempt counted). For a consumer whose client fetched them ahead
        and is leaving."""
        with self.lock:
            now = self._clock()
            holdings = self.holdings
            changed, wake_loop = self._apply(
                deliveries, lambda owned, handout: holdings.give_back(owned, handout, now)
            )
            if changed:
                self.signal_deliverable()
                if wake_loop:
                    self.wake.notify()

    def _apply_by_partition(self, deliveries: Iterable[Picked], now: float) -> tuple[bool, bool]:
        # Under the lock: acks, as _apply would apply them one by one, each partition's
        # together (a busy consumer acks a batch at a time, most partitions several times
        # in it). Acks only free room, so whether the loop has something new to do comes
        # out the same.
        held: dict[int, tuple[Owned, list[Handout]]] = {}
        for owned, handout in deliveries:
            entry = held.get(id(owned))
            if entry is None:
                held[id(owned)] = (owned, [handout])
            else:
                entry[1].append(handout)
        ack_all = self.holdings.ack_all
        return self._apply(held.values(), lambda owned, handouts: ack_all(owned, handouts, now))

    def _apply(
        self, deliveries: Iterable[tuple[Owned, _T]], apply: Callable[[Owned, _T], bool]
    ) -> tuple[bool, bool]:
        # Under the lock: ``apply`` to each delivery, or batch of one partition's
        # (``False`` when it changed nothing: a partition lost or released since is its new
        # owner's to decide). Returns whether any changed, and whether the member loop has
        # something new to do: read into the room made, or release a draining partition
        # that has nothing out any more.
        changed = wake_loop = False
        for owned, settled in deliveries:
            dispatcher = owned.dispatcher
            wanted = dispatcher.wants_events
            if not apply(owned, settled):
                continue
            changed = True
            wake_loop = wake_loop or (
                (not wanted and dispatcher.wants_events)
                or (owned.draining and dispatcher.in_flight == 0)
            )
        return changed, wake_loop
