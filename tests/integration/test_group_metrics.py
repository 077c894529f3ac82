"""Consumer group metrics at /metrics: a real server with metrics, the real gRPC client, the
page scraped over HTTP and read with prometheus_client's parser."""

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.storage.sqlite import SqliteStorageAdapter
from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.store.groups import FROM_BEGINNING, GroupSettings
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.integration.test_server_metrics import Samples, scrape, value
from tests.support.grpc_server import running_event_store_server

# A failed event is retried at once, once, then parked.
SETTINGS = GroupSettings(max_retries=1, retry_backoff=0.0, retry_backoff_max=0.0)


@pytest.fixture
def served() -> Iterator[tuple[EventStoreServer, EventStore]]:
    """A server with metrics on a free port, in memory, and a store through it."""
    storage = InMemoryStorageAdapter()
    with (
        running_event_store_server(storage, metrics_listen="127.0.0.1:0") as server,
        GrpcStorageAdapter(target=f"127.0.0.1:{server.port}") as adapter,
    ):
        yield server, EventStore(adapter)


def metrics(server: EventStoreServer) -> Samples:
    assert server.metrics_port is not None
    return scrape(server.metrics_port)


def test_the_metrics_count_the_consumers_joined(
    served: tuple[EventStoreServer, EventStore],
) -> None:
    server, store = served
    store.log().consumer_group("watched").create()
    assert value(metrics(server), "eventstore_group_consumers_active") == 0
    with store.consumer_group("watched").consume():
        assert value(metrics(server), "eventstore_group_consumers_active") == 1
    # close() returns once the server has confirmed the consumer left.
    assert value(metrics(server), "eventstore_group_consumers_active") == 0


def test_the_metrics_count_a_groups_traffic_and_show_its_state(
    served: tuple[EventStoreServer, EventStore],
) -> None:
    server, store = served
    group = store.category(category="orders").consumer_group("billing")
    group.create(start=FROM_BEGINNING, settings=SETTINGS)
    store.stream(category="orders", stream="o-1").publish(
        events=[NewEvent(name="placed", payload={"n": n}) for n in range(3)]
    )
    samples = metrics(server)
    assert value(samples, "eventstore_group_lag", group="billing") == 3
    assert value(samples, "eventstore_group_parked_events", group="billing") == 0
    assert ("eventstore_group_members", frozenset({("group", "billing")})) in samples

    # Position 1 fails twice and is parked; 0 and 2 are acknowledged.
    seen = []
    with group.consume() as consumer:
        for delivery in consumer:
            seen.append((delivery.event.position, delivery.attempt))
            if delivery.event.position == 1:
                delivery.nack(reason="the card was declined")
            else:
                delivery.ack()
            if delivery.event.position == 2:
                break
        assert value(metrics(server), "eventstore_group_members", group="billing") == 1
    assert seen == [(0, 1), (1, 1), (1, 2), (2, 1)]

    # close() sent every settlement and waited for the server to take them.
    samples = metrics(server)
    assert value(samples, "eventstore_group_deliveries_total", group="billing") == 4
    assert value(samples, "eventstore_group_redeliveries_total", group="billing") == 1
    assert value(samples, "eventstore_group_acks_total", group="billing") == 2
    assert value(samples, "eventstore_group_nacks_total", group="billing") == 2
    assert value(samples, "eventstore_group_members", group="billing") == 0
    assert value(samples, "eventstore_group_parked_events", group="billing") == 1
    assert wait_until(
        lambda: value(metrics(server), "eventstore_group_lag", group="billing") == 0, 10
    )

    # Gauges show the groups there are; the counters of this server's traffic stay.
    group.delete()
    samples = metrics(server)
    assert ("eventstore_group_lag", frozenset({("group", "billing")})) not in samples
    assert value(samples, "eventstore_group_acks_total", group="billing") == 2


def test_a_scrape_while_storage_fails_still_answers(tmp_path: Path) -> None:
    storage = SqliteStorageAdapter(path=tmp_path / "events.db")
    with (
        running_event_store_server(storage, metrics_listen="127.0.0.1:0") as server,
        # One attempt: the client would otherwise retry an unavailable store.
        GrpcStorageAdapter(target=f"127.0.0.1:{server.port}", attempts=1) as adapter,
    ):
        store = EventStore(adapter)
        store.log().consumer_group("watched").create()
        assert ("eventstore_group_lag", frozenset({("group", "watched")})) in metrics(server)
        # A real failure of the storage: the SQLite engine closed under the server.
        storage.close()
        with pytest.raises((StorageUnavailableError, grpc.RpcError)):
            store.consumer_group("watched").info()
        # The page answers (scrape() asserts a 200) without the groups' state.
        samples = metrics(server)
        assert ("eventstore_group_lag", frozenset({("group", "watched")})) not in samples
        assert value(samples, "eventstore_storage_errors_total", kind="unavailable") >= 1
