"""The member loop of a ``LocalGroupConsumer``: every storage call the consumer makes.

One thread runs ``MemberLoop.run``. Each turn it takes the most pressing of these steps,
deciding under the consumer's lock and doing the I/O outside it:

- a tick, every ``member_timeout / 3``: heartbeat (only while the consumer is active:
  waiting in ``__next__``, or it asked or settled within ``member_timeout``), read the
  group again (a reset bumps its generation; settings may change), renew the leases held,
  mark partitions whose desired owner is now another member as draining, claim the ones
  this member should own, and pick up replays of parked events;
- release draining partitions that have no delivery out (saving their progress first);
- save progress, parkings and unparkings in one batch, at most ``_SAVE_INTERVAL`` after
  the first change;
- read the target after the lowest cursor of the owned partitions that have room (once
  one of them has half its buffer free), through the pages the engine shares among the
  consumers it serves (``pages.py``), and feed each event to its partition's dispatcher.

Storage that cannot be reached (``StorageUnavailableError``) is tried again until it has
failed for ``member_timeout``; then the consumer ends with that error.

A lease renewed at ``t`` runs to ``t + ack_timeout + 2 * member_timeout / 3``: handing out
stays allowed for two ticks after it (see ``consumer.py``), and a member that vanished is
replaced at most that long after its last renewal.
"""

import logging
from collections.abc import Callable, Sequence, Set
from functools import partial
from typing import TYPE_CHECKING

from logicblocks.event.store.exceptions import GroupNotFoundError, StorageUnavailableError
from logicblocks.event.store.groups import GroupSettings

from .consumer import LocalGroupConsumer
from .dispatch import Changes, PartitionDispatcher
from .head_watch import HeadWatch
from .holdings import Owned
from .partitions import desired_partitions
from .records import GroupDefinition, PartitionProgress

if TYPE_CHECKING:
    from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["MemberLoop", "buffer_limit"]

_log = logging.getLogger(__name__)

# How long the loop waits before trying again after storage could not be reached.
_RETRY_WAIT = 0.1
# The longest the loop waits before looking at ``closed`` again by itself.
_CLOSED_CHECK = 0.5


def buffer_limit(settings: GroupSettings) -> int:
    """How many outstanding events one partition buffers: a few thousand per member owning
    every partition, and room for at least twice the credit spread over the partitions."""
    return max(32, (8192 + 2 * settings.max_in_flight) // settings.partitions)


class MemberLoop:
    """The storage side of one consumer (see the module's notes). Joins when made: raises
    ``GroupNotFoundError`` for a missing group."""

    def __init__(self, *, adapter: "RecordStorageAdapter", name: str, consumer: LocalGroupConsumer):
        self._adapter = adapter
        self._records = adapter.group_records()
        self._pages = adapter.group_pages
        self._name = name
        self._consumer = consumer
        self._member = consumer.consumer_id
        self.definition: GroupDefinition = self._records.get(name)
        now = consumer.clock()
        self._beat(now)
        self._head = HeadWatch(adapter=adapter, consumer=consumer, name=name)
        self._next_tick = now
        self._tick_asked = False

    @property
    def settings(self) -> GroupSettings:
        """The group's settings as last read."""
        return self.definition.settings

    def tick_now(self) -> None:
        """Tick at the next turn (under the consumer's lock)."""
        self._tick_asked = True

    def run(self) -> None:
        """Serve the consumer until it is closed, the group deleted or storage fails."""
        self._head.start()
        deleted = False
        failing_since: float | None = None
        try:
            while (step := self._next_step()) is not None:
                try:
                    step()
                    failing_since = None
                except StorageUnavailableError:
                    # A blip (a restarting database) need not end the consumer: leases keep
                    # handing out safe meanwhile. It ends once the member would be counted
                    # gone anyway.
                    now = self._consumer.clock()
                    failing_since = now if failing_since is None else failing_since
                    if now - failing_since > self.settings.member_timeout:
                        raise
                    with self._consumer.lock:
                        self._consumer.wake.wait(_RETRY_WAIT)
        except GroupNotFoundError:
            deleted = True
        except BaseException as error:
            with self._consumer.lock:
                self._consumer.error = error
        finally:
            self._head.stop()
            if not deleted:
                self._leave()
            with self._consumer.lock:
                self._consumer.ended = True
                self._consumer.signal_deliverable()

    def _next_step(self) -> Callable[[], None] | None:
        consumer = self._consumer
        with consumer.lock:
            while True:
                if consumer.closed or consumer.error is not None:
                    return None
                now = consumer.clock()
                if now >= self._next_tick or self._tick_asked:
                    # Asked again during the tick, it ticks once more: the group read
                    # then is the one the asker changed.
                    self._tick_asked = False
                    return partial(self._tick, now)
                consumer.expire(now)
                held = consumer.holdings.owned.values()
                if any(o.draining and o.dispatcher.in_flight == 0 for o in held):
                    return self._release
                if consumer.save_due is not None and now >= consumer.save_due:
                    return self._save
                if self._needs_read():
                    return self._read
                consumer.wake.wait(self._wait(now))

    def _wait(self, now: float) -> float:
        # Deadlines matter here too: a draining partition is released once they pass.
        times = [self._next_tick, self._consumer.holdings.timed_due]
        if self._consumer.save_due is not None:
            times.append(self._consumer.save_due)
        # At most _CLOSED_CHECK: a consumer dropped unclosed may set ``closed`` without
        # the lock, and so without waking the loop (LocalGroupConsumer.abandon).
        return min(max(min(times) - now, 0.001), _CLOSED_CHECK)

    def _beat(self, now: float) -> list[str]:
        return self._records.heartbeat(
            self._name, self._member, now=now, expires_at=now + self.settings.member_timeout
        )

    def _tick(self, now: float) -> None:
        consumer = self._consumer
        with consumer.lock:
            active = (
                consumer.waiting > 0 or now - consumer.last_active <= self.settings.member_timeout
            )
        live = self._beat(now) if active else self._records.members(self._name, now=now)
        definition = self._records.get(self._name)
        settings = definition.settings
        generation = definition.generation
        interval = settings.member_timeout / 3
        lease_until = now + settings.ack_timeout + 2 * interval
        holdings = consumer.holdings
        with consumer.lock:
            if generation != self.definition.generation:
                # Reset: what this member held belongs to the old generation; settling it
                # changes nothing now, and every partition is claimed afresh.
                holdings.discard_all()
            self.definition = definition
            for owned in holdings.owned.values():
                owned.dispatcher.settings = settings
                owned.dispatcher.buffer_limit = buffer_limit(settings)
            held = set(holdings.owned)
        if held:
            kept = self._records.renew(
                self._name,
                generation=generation,
                member=self._member,
                partitions=held,
                lease_until=lease_until,
            )
            with consumer.lock:
                for partition in held:
                    if partition not in kept:
                        holdings.discard(partition)
                    elif (renewed := holdings.owned.get(partition)) is not None:
                        renewed.lease_until = lease_until
        desired = (
            desired_partitions(self._name, settings.partitions, live, self._member)
            if active
            else set()
        )
        with consumer.lock:
            for partition, owned in holdings.owned.items():
                owned.draining = partition not in desired
            held = set(holdings.owned)
        claimed = self._claim(sorted(desired - held), generation, now, lease_until)
        with consumer.lock:
            for progress in claimed:
                dispatcher = PartitionDispatcher(
                    progress=progress, settings=settings, buffer_limit=buffer_limit(settings)
                )
                holdings.add(Owned(dispatcher, lease_until), now)
            # Renewed leases and partitions no longer draining may hand out again.
            holdings.refresh(consumer.clock())
            replaying = {p for p, owned in holdings.owned.items() if not owned.draining}
            self._next_tick = now + interval
            consumer.signal_deliverable()
        self._pick_up_replays(replaying)

    def _claim(
        self, partitions: Sequence[int], generation: int, now: float, lease_until: float
    ) -> list[PartitionProgress]:
        claimed = []
        for partition in partitions:
            progress = self._records.claim(
                self._name,
                generation=generation,
                partition=partition,
                member=self._member,
                now=now,
                lease_until=lease_until,
            )
            if progress is not None:
                claimed.append(progress)
        return claimed

    def _pick_up_replays(self, partitions: Set[int]) -> None:
        if not partitions:
            return
        consumer = self._consumer
        for parked in self._records.replaying(self._name, partitions):
            with consumer.lock:
                owned = consumer.holdings.owned.get(parked.partition)
                if owned is None or not owned.dispatcher.wants_replay(parked.sequence_number):
                    continue
            record = self._adapter.read_record_by_id(parked.event_id)
            with consumer.lock:
                if record is not None and consumer.holdings.holds(owned):
                    owned.dispatcher.add_replay(parked, record)
                    consumer.holdings.touch(owned, consumer.clock())
                    consumer.signal_deliverable()

    def _release(self) -> None:
        consumer = self._consumer
        with consumer.lock:
            pending = [
                (owned, owned.dispatcher.take_changes())
                for owned in consumer.holdings.owned.values()
                if owned.draining and owned.dispatcher.in_flight == 0
            ]
        # Saved before the partitions are let go: a save that fails keeps them, to be
        # released (and saved) at a later turn.
        self._store_or_put_back(pending)
        with consumer.lock:
            released = set()
            for owned, _ in pending:
                dispatcher = owned.dispatcher
                # Nothing can be handed out of a draining partition meanwhile; a tick may
                # have wanted it again, and then it stays.
                if consumer.holdings.holds(owned) and owned.draining and dispatcher.in_flight == 0:
                    consumer.holdings.discard(dispatcher.partition)
                    released.add(dispatcher.partition)
        if released:
            self._records.release(
                self._name,
                generation=self.definition.generation,
                member=self._member,
                partitions=released,
            )

    def _save(self) -> None:
        consumer = self._consumer
        with consumer.lock:
            consumer.save_due = None
            pending = [
                (owned, change)
                for owned in consumer.holdings.owned.values()
                if (change := owned.dispatcher.take_changes()) is not None
            ]
        written = self._store_or_put_back(pending)
        with consumer.lock:
            for owned, change in pending:
                if change is None:
                    continue
                partition = change.progress.partition
                if partition not in written and consumer.holdings.holds(owned):
                    # Another member owns it now: what this one held there is stale.
                    consumer.holdings.discard(partition)

    def _store_or_put_back(self, pending: Sequence[tuple[Owned, Changes | None]]) -> set[int]:
        """Save the changes taken; when storage cannot be reached, put them back (to be
        saved with the next) and raise."""
        try:
            return self._store([change for _, change in pending if change is not None])
        except StorageUnavailableError:
            consumer = self._consumer
            with consumer.lock:
                for owned, change in pending:
                    if change is not None and consumer.holdings.holds(owned):
                        owned.dispatcher.put_back(change)
                consumer.changed(consumer.clock(), wake_loop=False)
            raise

    def _store(self, changes: Sequence[Changes]) -> set[int]:
        if not changes:
            return set()
        return self._records.save(
            self._name,
            generation=self.definition.generation,
            member=self._member,
            progress=[change.progress for change in changes],
            parked=[event for change in changes for event in change.parked],
            unparked=[number for change in changes for number in change.unparked],
        )

    def _needs_read(self) -> bool:
        return any(
            not owned.draining
            and owned.dispatcher.wants_events
            and owned.dispatcher.cursor < self._head.known
            for owned in self._consumer.holdings.owned.values()
        )

    def _read(self) -> None:
        consumer = self._consumer
        with consumer.lock:
            feeding = {
                partition: owned
                for partition, owned in consumer.holdings.owned.items()
                if not owned.draining and owned.dispatcher.has_room
            }
            if not feeding:
                return
            after = min(owned.dispatcher.cursor for owned in feeding.values())
            partitions = self.settings.partitions
            target = self.definition.target
            known_head = self._head.known
        span = self._pages.read(target, after=after, known_head=known_head)
        by_partition = span.by_partition(partitions)
        reached = span.reached
        with consumer.lock:
            now = consumer.clock()
            for partition, owned in feeding.items():
                if not consumer.holdings.holds(owned):
                    continue
                dispatcher = owned.dispatcher
                if dispatcher.offer_all(by_partition.get(partition, ())):
                    dispatcher.advance(reached)
                consumer.holdings.touch(owned, now)
            self._head.saw(reached)
            if any(owned.dispatcher.dirty for owned in feeding.values()):
                consumer.changed(now, wake_loop=False)
            consumer.signal_deliverable()

    def _leave(self) -> None:
        consumer = self._consumer
        with consumer.lock:
            # Nothing is handed out or settled any more: settlements now change nothing.
            held = consumer.holdings.discard_all()
            changes = [
                change
                for owned in held.values()
                if (change := owned.dispatcher.take_changes()) is not None
            ]
            free = {p for p, owned in held.items() if owned.dispatcher.in_flight == 0}
            deadlines = [
                deadline
                for owned in held.values()
                if (deadline := owned.dispatcher.last_deadline()) is not None
            ]
        generation = self.definition.generation
        try:
            self._store(changes)
            if free:
                self._records.release(
                    self._name, generation=generation, member=self._member, partitions=free
                )
            if deadlines:
                # Deliveries still out keep their partitions until their deadline passes
                # (per-stream order), and no longer: the lease is cut down to it.
                self._records.renew(
                    self._name,
                    generation=generation,
                    member=self._member,
                    partitions=set(held) - free,
                    lease_until=max(deadlines),
                )
            self._records.leave(self._name, self._member)
        except GroupNotFoundError:
            pass
        except Exception:
            # Leaving is best effort: unsaved acks are delivered again, leases run out.
            _log.warning(
                "consumer %s could not leave group %s", self._member, self._name, exc_info=True
            )
