"""What subscribers see of the fan-out: events in batches, the same messages for the same
target, every event once whoever committed it.

Subscriptions here are raw ``Subscribe`` calls on a real server, so the messages
themselves can be counted and compared; the gRPC client would hide how events were
grouped. Messages are read as the server's bytes where their identity matters.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.testing.waiting import take
from logicblocks.event.types import NewEvent, StoredEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.grpc_server import running_server

SUBSCRIBE = "/logicblocks.event.v1.EventStore/Subscribe"
LOG = targets_pb2.Target(log=targets_pb2.Log())
ORDERS = targets_pb2.Target(category=targets_pb2.Category(category="orders"))
# Guards against a hang only: every call ends long before, cancelled by the test.
CALL_DEADLINE = 120.0


class Served:
    """A server on an in-memory store, its channel, a store client, and the adapter, so a
    test can also write beside the server."""

    def __init__(self, adapter: InMemoryStorageAdapter, channel: grpc.Channel, store: EventStore):
        self.adapter = adapter
        self.channel = channel
        self.store = store

    @contextmanager
    def subscription(
        self, target: targets_pb2.Target, *, after: int | None = None
    ) -> Iterator[Iterator[bytes]]:
        """A ``Subscribe`` call from the end (or after ``after``), as the server's bytes."""
        request = event_store_pb2.SubscribeRequest(target=target)
        if after is None:
            request.end.SetInParent()
        else:
            request.after_sequence_number = after
        call: Any = self.channel.unary_stream(
            SUBSCRIBE,
            request_serializer=event_store_pb2.SubscribeRequest.SerializeToString,
            response_deserializer=None,
        )(request, timeout=CALL_DEADLINE)
        try:
            yield call
        finally:
            call.cancel()


@pytest.fixture
def served() -> Iterator[Served]:
    adapter = InMemoryStorageAdapter()
    with (
        running_server(adapter) as target,
        grpc.insecure_channel(target) as channel,
        GrpcStorageAdapter(target=target) as client,
    ):
        yield Served(adapter, channel, EventStore(client))


def parsed(data: bytes) -> event_store_pb2.SubscribeResponse:
    return event_store_pb2.SubscribeResponse.FromString(data)


def next_events(messages: Iterator[bytes]) -> bytes:
    """The next message carrying events, passing over heartbeats."""
    for data in messages:
        if parsed(data).WhichOneof("content") == "events":
            return data
    raise AssertionError("the subscription ended")


def caught_up(messages: Iterator[bytes]) -> None:
    assert parsed(next(messages)).WhichOneof("content") == "caught_up"


def numbers(data: bytes) -> list[int]:
    return [event.sequence_number for event in parsed(data).events.events]


def sequence_numbers(events: list[StoredEvent]) -> list[int]:
    return [event.sequence_number for event in events]


def ticks(count: int, pad: int = 10) -> list[NewEvent]:
    return [NewEvent(name="tick", payload={"n": n, "pad": "x" * pad}) for n in range(count)]


def scanned(served: Served, target: targets_pb2.Target) -> list[events_pb2.StoredEvent]:
    stub = event_store_pb2_grpc.EventStoreStub(served.channel)
    request = event_store_pb2.ScanRequest(target=target)
    return [event for response in stub.Scan(request) for event in response.events]


def test_events_committed_together_reach_a_caught_up_subscriber_in_one_message(
    served: Served,
) -> None:
    with served.subscription(LOG) as messages:
        caught_up(messages)

        published = served.store.stream(category="orders", stream="o-1").publish(events=ticks(5))

        assert numbers(next_events(messages)) == sequence_numbers(list(published))


def test_commits_waiting_for_a_subscriber_reach_it_in_one_message(served: Served) -> None:
    stream = served.store.stream(category="orders", stream="o-1")
    with served.store.log().subscribe(from_end=True) as follower:
        published = [event for _ in range(6) for event in stream.publish(events=ticks(1))]
        # Seen live: the six commits are in the server's tail, waiting.
        assert take(follower, 6) == published

    with served.subscription(LOG, after=published[0].sequence_number - 1) as messages:
        assert numbers(next_events(messages)) == sequence_numbers(published)
        caught_up(messages)


def test_subscribers_of_one_target_are_sent_the_same_messages(served: Served) -> None:
    orders = served.store.stream(category="orders", stream="o-1")
    users = served.store.stream(category="users", stream="u-1")
    with (
        served.subscription(LOG) as log_1,
        served.subscription(LOG) as log_2,
        served.subscription(ORDERS) as orders_1,
        served.subscription(ORDERS) as orders_2,
    ):
        for messages in (log_1, log_2, orders_1, orders_2):
            caught_up(messages)
        received: dict[str, list[bytes]] = {"log_1": [], "log_2": [], "o_1": [], "o_2": []}
        for size, stream in enumerate([orders, users, orders, orders, users], start=1):
            # Payloads past 127 and 16,383 bytes: lengths of one, two and three bytes.
            stream.publish(events=ticks(size, pad=10 ** (size % 3 + 1) * 2))
            received["log_1"].append(next_events(log_1))
            received["log_2"].append(next_events(log_2))
            if stream is orders:
                received["o_1"].append(next_events(orders_1))
                received["o_2"].append(next_events(orders_2))

    assert received["log_1"] == received["log_2"]
    assert received["o_1"] == received["o_2"]
    # One message per commit, each holding exactly the events a scan reads back.
    assert [len(parsed(data).events.events) for data in received["log_1"]] == [1, 2, 3, 4, 5]
    for name, target in (("log_1", LOG), ("o_1", ORDERS)):
        sent = [event for data in received[name] for event in parsed(data).events.events]
        assert sent == scanned(served, target)


def test_events_written_beside_the_server_interleave_with_its_own_exactly_once(
    served: Served,
) -> None:
    """The server appends its own commits to the tail as they return and reads the rest
    from storage; a subscriber must see one log either way."""
    rounds = 150
    store_beside = EventStore(served.adapter)

    def writer(publish: Callable[[int], object]) -> threading.Thread:
        return threading.Thread(target=lambda: [publish(n) for n in range(rounds)])

    with served.store.log().subscribe(from_end=True) as subscription:
        writers = [
            writer(
                lambda n: served.store.stream(category="orders", stream="o-1").publish(
                    events=ticks(1 + n % 3)
                )
            ),
            writer(
                lambda n: store_beside.stream(category="users", stream="u-1").publish(
                    events=ticks(1 + n % 2)
                )
            ),
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        total = sum(1 + n % 3 for n in range(rounds)) + sum(1 + n % 2 for n in range(rounds))
        delivered = take(subscription, total)

    assert sequence_numbers(delivered) == list(range(total))
    assert [event.id for event in delivered] == [event.id for event in scanned(served, LOG)]
