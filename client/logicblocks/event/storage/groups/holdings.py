"""The partitions one member holds, and which of them the next delivery comes from: I/O-free.

A consumer asks for one delivery at a time; looking at every held partition for each would
cost a pass over up to ``partitions`` dispatchers per event. ``Holdings`` keeps a heap of
each dispatcher's next ready sequence number instead, looked at again whenever that may
change (events offered, a delivery handed out or settled, a deadline or backoff passing,
a replay added, a lease renewed). One entry per partition is live (``_listed``); the
others went stale as the partition moved on and are dropped when they reach the top. So
the delivery handed out is always the lowest ready sequence number among the partitions
that may hand out, found in logarithmic time.

It also keeps the member's count of deliveries out (its credit) and a time no later than
the earliest a deadline passes or a retry comes due (early after acks, which only remove
deadlines), when every dispatcher is looked at once.
"""

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass

from logicblocks.event.store.groups import GroupSettings

from .dispatch import Handout, PartitionDispatcher

__all__ = ["Holdings", "Owned"]


@dataclass(slots=True)
class Owned:
    """A partition the member holds a lease of, and what it knows of the lease.

    Attributes:
        dispatcher: the partition's deliveries and progress.
        lease_until: when the lease ends unless renewed.
        draining: another member should own it: nothing more is handed out, and it is
            released once nothing is out.
    """

    dispatcher: PartitionDispatcher
    lease_until: float
    draining: bool = False


class Holdings:
    """The held partitions of one member. Not thread-safe: used under the consumer's lock.

    Attributes:
        owned: the held partitions, by number.
        in_flight: deliveries out, over every held partition.
        timed_due: no later than the earliest time a deadline passes or a retry comes
            due (``math.inf`` when none will); early after acks, and set right by
            ``expire`` when it comes.
    """

    def __init__(self) -> None:
        self.owned: dict[int, Owned] = {}
        self.in_flight = 0
        self.timed_due = math.inf
        self._candidates: list[tuple[int, int]] = []
        # The sequence number of each partition's live entry in _candidates.
        self._listed: dict[int, int] = {}

    def add(self, owned: Owned, now: float) -> None:
        """Hold a newly claimed partition."""
        self.owned[owned.dispatcher.partition] = owned
        self.in_flight += owned.dispatcher.in_flight
        self.touch(owned, now)

    def discard(self, partition: int) -> Owned | None:
        """Stop holding ``partition``; settling its deliveries changes nothing after."""
        owned = self.owned.pop(partition, None)
        self._listed.pop(partition, None)
        if owned is not None:
            self.in_flight -= owned.dispatcher.in_flight
        return owned

    def discard_all(self) -> dict[int, Owned]:
        """Stop holding every partition; returns what was held."""
        held, self.owned = self.owned, {}
        self.in_flight = 0
        self._candidates.clear()
        self._listed.clear()
        return held

    def holds(self, owned: Owned) -> bool:
        """Whether ``owned`` is still held (not lost, released or replaced)."""
        return self.owned.get(owned.dispatcher.partition) is owned

    def touch(self, owned: Owned, now: float) -> None:
        """Note that ``owned``'s dispatcher may have changed: its next ready event or when
        something in it comes due."""
        dispatcher = owned.dispatcher
        self._list(dispatcher.partition, dispatcher.next_ready(now))
        wake = dispatcher.next_wake()
        if wake is not None and wake < self.timed_due:
            self.timed_due = wake

    def refresh(self, now: float) -> None:
        """Look at every held partition again (after leases were renewed or partitions
        stopped draining, which no dispatcher notices)."""
        for owned in self.owned.values():
            self.touch(owned, now)

    def expire(self, now: float) -> int:
        """Fail the deliveries whose deadline passed by ``now`` and let due retries become
        ready; returns how many deliveries expired. Looks only once ``timed_due`` came."""
        if now < self.timed_due:
            return 0
        self.timed_due = math.inf
        expired = 0
        for owned in self.owned.values():
            dispatcher = owned.dispatcher
            before = dispatcher.in_flight
            expired += dispatcher.expire(now)
            self.in_flight += dispatcher.in_flight - before
            self.touch(owned, now)
        return expired

    def hand_out(self, now: float, settings: GroupSettings) -> tuple[Owned, Handout] | None:
        """The next delivery (``hand_out_many`` of one); ``None`` when none is ready or
        the member's credit is spent."""
        picked = self.hand_out_many(now, settings, 1)
        return picked[0] if picked else None

    def hand_out_many(
        self, now: float, settings: GroupSettings, limit: int
    ) -> list[tuple[Owned, Handout]]:
        """Up to ``limit`` deliveries, in the order single hand-outs would give them: each
        from the partition whose next ready event is lowest, among those not draining
        whose lease outlives the delivery's deadline; fewer when fewer are ready or the
        member's credit (``max_in_flight``) runs out."""
        self.expire(now)
        room = min(limit, settings.max_in_flight - self.in_flight)
        picked: list[tuple[Owned, Handout]] = []
        # A lease that ends before the deadline could let a new owner deliver the
        # stream's next event while this one is still out.
        lease_needed = now + settings.ack_timeout
        candidates, listed, owned_by = self._candidates, self._listed, self.owned
        timed_due = self.timed_due
        while candidates and len(picked) < room:
            number, partition = heapq.heappop(candidates)
            if listed.get(partition) != number:
                continue  # stale
            del listed[partition]
            owned = owned_by.get(partition)
            if owned is None or owned.draining or owned.lease_until < lease_needed:
                continue  # listed again by refresh() once it may hand out
            dispatcher = owned.dispatcher
            # The lowest ready: the one listed, or a retry that came due since (lower).
            handout = dispatcher.hand_out(now)
            if handout is None:  # pragma: no cover - listed only with an event ready
                continue
            picked.append((owned, handout))
            ready = dispatcher.peek()
            if ready is not None:
                listed[partition] = ready
                heapq.heappush(candidates, (ready, partition))
            # Deadlines are handed out in increasing order: a new one moves timed_due
            # only when nothing earlier was due (no delivery out, at most a later retry).
            if handout.deadline < timed_due:
                timed_due = handout.deadline
        self.in_flight += len(picked)
        self.timed_due = timed_due
        return picked

    def _list(self, partition: int, ready: int | None) -> None:
        if ready is None:
            self._listed.pop(partition, None)
        elif self._listed.get(partition) != ready:
            self._listed[partition] = ready
            heapq.heappush(self._candidates, (ready, partition))

    def ack_all(self, owned: Owned, handouts: Iterable[Handout], now: float) -> bool:
        """Apply an ack to each of ``handouts``, all of ``owned``; ``False`` when that
        changed nothing (as ``settle``), with the partition looked at once for them all."""
        if not self.holds(owned):
            return False
        dispatcher = owned.dispatcher
        before = dispatcher.in_flight
        ack = dispatcher.ack
        settled = False
        for handout in handouts:
            if ack(handout):
                settled = True
        self.in_flight += dispatcher.in_flight - before
        if settled:
            # An ack brings nothing due sooner: timed_due stays (early at worst, and
            # looked at again when it comes).
            self._list(dispatcher.partition, dispatcher.next_ready(now))
        return settled

    def settle(self, owned: Owned, handout: Handout, reason: str | None, now: float) -> bool:
        """Apply an ack (``reason`` ``None``) or a nack; ``False`` when it changed nothing
        (the partition is no longer held, or the delivery was settled or replaced)."""
        if reason is None:
            return self.ack_all(owned, (handout,), now)
        if not self.holds(owned):
            return False
        dispatcher = owned.dispatcher
        before = dispatcher.in_flight
        settled = dispatcher.fail(handout, reason, now)
        self.in_flight += dispatcher.in_flight - before
        if settled:
            self.touch(owned, now)
        return settled

    def give_back(self, owned: Owned, handout: Handout, now: float) -> bool:
        """The delivery was never started: its event is ready again (``False`` when that
        changed nothing: the partition is no longer held, or the delivery was settled)."""
        if not self.holds(owned):
            return False
        dispatcher = owned.dispatcher
        if not dispatcher.give_back(handout):
            return False
        self.in_flight -= 1
        self._list(dispatcher.partition, dispatcher.next_ready(now))
        return True
