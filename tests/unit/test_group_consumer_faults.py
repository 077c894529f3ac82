"""A group consumer in process rides out storage that cannot be reached for a moment, and
ends with the error when the outage lasts."""

import threading
from collections.abc import Sequence

import pytest

from logicblocks.event.storage.groups.consumer import LocalGroupConsumer
from logicblocks.event.storage.groups.consumer_handle import LocalConsumerHandle
from logicblocks.event.storage.groups.memory import InMemoryGroupRecords
from logicblocks.event.storage.groups.records import GroupRecords, PartitionProgress
from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.store.consumer_group import ConsumerGroup
from logicblocks.event.store.groups import GroupSettings, ParkedEvent
from logicblocks.event.store.store import EventStream
from logicblocks.event.testing.contract.sample_events import new_events
from logicblocks.event.testing.waiting import wait_until

SETTINGS = GroupSettings(member_timeout=0.6, retry_backoff=0.0, partitions=4)


class UnreachableRecords(InMemoryGroupRecords):
    """In-memory group records whose heartbeats and saves fail while ``failures`` last."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.failing = {"heartbeat", "save"}
        self._failing = threading.Lock()

    def _fail(self, call: str) -> None:
        with self._failing:
            if self.failures > 0 and call in self.failing:
                self.failures -= 1
                raise StorageUnavailableError("storage cannot be reached")

    def heartbeat(self, name: str, member: str, *, now: float, expires_at: float) -> list[str]:
        self._fail("heartbeat")
        return super().heartbeat(name, member, now=now, expires_at=expires_at)

    def save(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        progress: Sequence[PartitionProgress],
        parked: Sequence[ParkedEvent] = (),
        unparked: Sequence[int] = (),
    ) -> set[int]:
        self._fail("save")
        return super().save(
            name,
            generation=generation,
            member=member,
            progress=progress,
            parked=parked,
            unparked=unparked,
        )


class UnreachableAdapter(InMemoryStorageAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.records = UnreachableRecords()

    def group_records(self) -> GroupRecords:
        return self.records


def billing_group(adapter: UnreachableAdapter, events: int) -> tuple[EventStream, ConsumerGroup]:
    """Stream orders/o-1 with ``events`` events, and group "billing" over the log."""
    store = EventStore(adapter)
    stream = store.stream(category="orders", stream="o-1")
    stream.publish(events=new_events(events))
    group = store.log().consumer_group("billing")
    group.create(settings=SETTINGS)
    return stream, group


def test_a_short_outage_delays_saves_but_ends_nothing() -> None:
    adapter = UnreachableAdapter()
    stream, group = billing_group(adapter, 1)
    with group.consume() as consumer:
        adapter.records.failures = 2
        next(consumer).ack()
        assert wait_until(lambda: group.info().lag == 0, 10)
        [event] = stream.publish(events=new_events(1))
        delivery = next(consumer)
        assert delivery.event == event
        delivery.ack()
    assert adapter.records.failures == 0


def test_an_acknowledgement_whose_save_failed_is_saved_once_storage_is_back() -> None:
    adapter = UnreachableAdapter()
    _, group = billing_group(adapter, 3)
    adapter.records.failing = {"save"}
    adapter.records.failures = 1
    with group.consume() as consumer:
        for _ in range(3):
            next(consumer).ack()
        # Nothing else happens in the group: only a retry of the failed save brings it to 0.
        assert wait_until(lambda: group.info().lag == 0, 10)
        assert adapter.records.failures == 0


def test_an_outage_longer_than_the_member_timeout_ends_the_consumer_with_it() -> None:
    adapter = UnreachableAdapter()
    store = EventStore(adapter)
    group = store.log().consumer_group("billing")
    group.create(settings=SETTINGS)
    consumer = group.consume()
    adapter.records.failures = 1_000_000
    watchdog = threading.Timer(10, consumer.close)
    watchdog.start()
    try:
        with pytest.raises(StorageUnavailableError):
            next(consumer)
    finally:
        watchdog.cancel()
        consumer.close()


def test_a_partition_whose_release_could_not_be_saved_keeps_its_acks() -> None:
    adapter = UnreachableAdapter()
    store = EventStore(adapter)
    for n in range(8):
        store.stream(category="orders", stream=f"o-{n}").publish(events=new_events(1))
    group = store.log().consumer_group("billing")
    group.create(settings=SETTINGS)
    adapter.records.failing = {"save"}
    adapter.records.failures = 1_000_000
    with group.consume(consumer_id="a") as first:
        for _ in range(8):
            next(first).ack()
        assert isinstance(first, LocalConsumerHandle)
        with group.consume(consumer_id="b"):
            # The first consumer hands partitions on to the second: it must save their
            # acks before letting them go, and cannot yet.
            assert wait_until(lambda: draining(first.consumer), 10)
            adapter.records.failures = 0
            # Only the acks put back when the release's save failed bring the lag to 0:
            # the second consumer takes no delivery, and the events were acked once.
            assert wait_until(lambda: group.info().lag == 0, 10)
            assert wait_until(lambda: not draining(first.consumer), 10)


def draining(consumer: LocalGroupConsumer) -> bool:
    with consumer.lock:
        return any(owned.draining for owned in consumer.holdings.owned.values())
