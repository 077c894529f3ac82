"""The blocking gRPC client's subscriptions at the edges of their life."""

import threading

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.types import NewEvent
from tests.support.grpc_server import running_server


def test_closing_the_adapter_ends_its_subscriptions_quietly() -> None:
    with running_server(InMemoryStorageAdapter()) as target:
        adapter = GrpcStorageAdapter(target=target)
        store = EventStore(adapter)
        store.stream(category="c", stream="s").publish(events=[NewEvent(name="e", payload={})])
        subscription = store.log().subscribe()
        assert next(subscription).sequence_number == 0
        outcome: list[object] = []

        def drain() -> None:
            try:
                outcome.append(list(subscription))
            except BaseException as error:
                outcome.append(error)

        consumer = threading.Thread(target=drain)
        consumer.start()
        adapter.close()
        consumer.join(timeout=30)
        assert not consumer.is_alive(), "the subscription outlived its adapter"
        assert outcome == [[]]
