"""``LocalGroupConsumer``: a member of a group served straight from an engine in this process.

Two threads of its own do the storage work, so the application's thread only waits for
deliveries and ``ack()``/``nack()`` never block on storage:

- the member loop (``member.py``): heartbeats, claims, renews and releases partitions,
  reads the group's target and feeds each owned partition's ``PartitionDispatcher``,
  saves progress in batches, and leaves on ``close()``;
- a watcher that waits for the head to move and wakes the loop.

Every piece of state is guarded by one lock; the dispatchers are I/O-free and called
under it. Deliveries are handed out in ``__next__``, from the owned partition whose next
ready event has the lowest sequence number, only while the partition's lease runs at
least ``ack_timeout`` past now: a member that vanishes keeps its partitions until every
delivery it handed out is past its deadline, so a new owner never delivers a stream's next
event while an earlier one may still be in the old owner's hands.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from logicblocks.event.store.consumer import Delivery, GroupConsumer
from logicblocks.event.store.exceptions import InvalidInputError

from .dispatch import Handout
from .holdings import Holdings, Owned

if TYPE_CHECKING:
    # The engine base makes consumers; this module only calls it back.
    from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["LocalDelivery", "LocalGroupConsumer"]

# The longest __next__ waits before looking again by itself (wake-ups come sooner).
_NEXT_SLICE = 0.5
# How long settled deliveries may wait to be saved together: an ack is stored within it.
_SAVE_INTERVAL = 0.1
# How long close() waits for the loop's last save and releases.
_CLOSE_WAIT = 10.0


class LocalDelivery(Delivery):
    """A delivery of a ``LocalGroupConsumer``; settling it takes the consumer's lock only."""

    def __init__(self, *, consumer: "LocalGroupConsumer", owned: Owned, handout: Handout):
        super().__init__(event=handout.record.to_stored_event(), attempt=handout.attempt)
        self._consumer = consumer
        self._owned = owned
        self._handout = handout

    def ack(self) -> None:
        self._consumer.settle(self._owned, self._handout, None)

    def nack(self, *, reason: str) -> None:
        if not isinstance(reason, str):
            raise InvalidInputError("reason", "must be a string")
        self._consumer.settle(self._owned, self._handout, reason)


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
            self.closed = True
            self.wake.notify_all()
            self.deliverable.notify_all()
        # The loop saves what was settled and releases what it can before it ends, so a
        # consumer that joins right after finds both.
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=_CLOSE_WAIT)

    def __next__(self) -> Delivery:
        with self.lock:
            self.waiting += 1
            try:
                owned, handout = self._pick()
            finally:
                self.waiting -= 1
                self.last_active = self._clock()
        # Decoded outside the lock: the payload is the one costly step of a delivery.
        return LocalDelivery(consumer=self, owned=owned, handout=handout)

    def _pick(self) -> tuple[Owned, Handout]:
        holdings = self.holdings
        while True:
            if self.error is not None:
                raise self.error
            if self.closed or self.ended:
                raise StopIteration
            now = self._clock()
            self.last_active = now
            self.expire(now)
            picked = holdings.hand_out(now, self._loop.settings)
            if picked is not None:
                return picked
            if not holdings.owned:
                # Maybe counted gone while idle: the loop beats again at its next tick.
                self.wake.notify()
            wait = min(max(holdings.timed_due - now, 0.001), _NEXT_SLICE)
            self.deliverable.wait(wait)

    def expire(self, now: float) -> None:
        """Fail the deliveries whose deadline passed (under the lock)."""
        if self.holdings.expire(now):
            self.changed(now, wake_loop=True)
            self.deliverable.notify_all()

    def changed(self, now: float, *, wake_loop: bool) -> None:
        """Something is to be saved (under the lock): the loop saves within its interval."""
        if self.save_due is None:
            self.save_due = now + _SAVE_INTERVAL
            wake_loop = True
        if wake_loop:
            self.wake.notify()

    def settle(self, owned: Owned, handout: Handout, reason: str | None) -> None:
        """Apply an ack (``reason`` ``None``) or a nack; deliveries call this."""
        with self.lock:
            now = self._clock()
            self.last_active = now
            dispatcher = owned.dispatcher
            had_room = dispatcher.has_room
            # A partition lost or released since is its new owner's to decide: no change.
            if not self.holdings.settle(owned, handout, reason, now):
                return
            self.deliverable.notify_all()
            # The loop is woken only when it has something new to do: read into the room
            # made, or release a draining partition that has nothing out any more.
            self.changed(
                now,
                wake_loop=(not had_room and dispatcher.has_room)
                or (owned.draining and dispatcher.in_flight == 0),
            )
