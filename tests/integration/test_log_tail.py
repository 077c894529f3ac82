"""Live delivery through the server's shared log tail, at its edges.

The tail is shrunk so that bursts overflow it: subscribers must then fall back to reading
storage and still see every event exactly once, in order.
"""

from collections.abc import Iterator

import pytest

from logicblocks.event.server import log_tail
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.testing.waiting import take
from logicblocks.event.types import NewEvent, StoredEvent
from tests.support.grpc_server import running_server


@pytest.fixture
def small_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_tail, "_TAIL_EVENTS", 8)
    monkeypatch.setattr(log_tail, "_TAIL_BYTES", 2048)
    monkeypatch.setattr(log_tail, "READ_PAGE", 5)


@pytest.fixture
def store() -> Iterator[EventStore]:
    with (
        running_server(InMemoryStorageAdapter()) as target,
        GrpcStorageAdapter(target=target) as adapter,
    ):
        yield EventStore(adapter)


def events(count: int, size: int = 10) -> list[NewEvent]:
    return [NewEvent(name="e", payload={"n": n, "pad": "x" * size}) for n in range(count)]


@pytest.mark.usefixtures("small_tail")
def test_bursts_larger_than_the_tail_reach_live_subscribers_whole(store: EventStore) -> None:
    wanted = store.stream(category="orders", stream="o-1")
    other = store.stream(category="users", stream="u-1")
    with (
        store.log().subscribe(from_end=True) as log,
        store.category(category="orders").subscribe(from_end=True) as orders,
    ):
        published: list[StoredEvent] = []
        for size in (10, 300, 10):
            published += wanted.publish(events=events(30, size))
            published += other.publish(events=events(7, size))
        assert take(log, len(published)) == published
        assert take(orders, 90) == [e for e in published if e.category == "orders"]


@pytest.mark.usefixtures("small_tail")
def test_a_subscriber_behind_the_tail_catches_up_from_storage(store: EventStore) -> None:
    stream = store.stream(category="orders", stream="o-1")
    first = list(stream.publish(events=events(3)))
    with store.log().subscribe() as subscription:
        assert take(subscription, 3) == first
        # Written while this subscriber is not reading: far more than the tail holds, and
        # large enough to fill the connection's flow-control window, so the server stops
        # sending, falls behind the tail and must read storage.
        later: list[StoredEvent] = []
        for _ in range(10):
            later += stream.publish(events=events(6, size=20_000))
        assert take(subscription, len(later)) == later


def test_a_start_beyond_the_head_delivers_only_later_events(store: EventStore) -> None:
    stream = store.stream(category="orders", stream="o-1")
    with store.log().subscribe(after_sequence_number=4) as subscription:
        published = list(stream.publish(events=events(8)))
        assert take(subscription, 3) == published[5:]
