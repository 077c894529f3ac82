"""Consumer groups over gRPC: a real server on loopback, the real clients and stubs.

One walk through a group's life as an application and an operator see it (create, list,
consume, ack, nack until parked, replay, drop, reset, delete), the token rules (a
read-only token consumes but does not manage), and bad input named by its path in the
request, as a client in another language reads it.
"""

import asyncio
import gc
import queue
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from logicblocks.event.server.auth import Access
from logicblocks.event.store import (
    EventStore,
    GroupNotFoundError,
    PermissionDeniedError,
)
from logicblocks.event.store.adapters import (
    AsyncGrpcStorageAdapter,
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
)
from logicblocks.event.store.consumer import Delivery
from logicblocks.event.store.groups import FROM_BEGINNING, GroupSettings
from logicblocks.event.testing.contract.group_record_fixtures import make_parked
from logicblocks.event.testing.contract.sample_events import new_events
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.transport.consumer import GrpcGroupConsumer
from logicblocks.event.transport.groups_wire import PARKED_PAGE
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import consumer_groups_pb2 as pb
from logicblocks.event.v1 import consumer_groups_pb2_grpc
from tests.support.grpc_server import running_server

WRITER = "writer-0c41f7a2d9e3"
READER = "reader-7be2a1c05f44"
TOKENS = {WRITER: Access.READ_WRITE, READER: Access.READ_ONLY}
# Failed events are retried at once, once, then parked.
SETTINGS = GroupSettings(max_retries=1, retry_backoff=0.0, retry_backoff_max=0.0)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with running_server(InMemoryStorageAdapter(), tokens=TOKENS) as target:
        yield target


@pytest.fixture
def store(target: str) -> Iterator[EventStore]:
    adapter = GrpcStorageAdapter(target=target, token=WRITER)
    yield EventStore(adapter)
    adapter.close()


def publish_orders(store: EventStore, category: str) -> None:
    """Three events in each of two streams."""
    for stream in ("o-1", "o-2"):
        store.stream(category=category, stream=stream).publish(
            events=[NewEvent(name=f"step-{n}", payload={"n": n}) for n in range(3)]
        )


def take(store: EventStore, group: str, count: int, failing: set[str]) -> list[Delivery]:
    """Consume ``count`` deliveries, nacking those of ``failing`` event names and acking
    the rest; leave the group (which settles them all on the server) before returning."""
    deliveries = []
    with store.consumer_group(group).consume() as consumer:
        for delivery in consumer:
            deliveries.append(delivery)
            if delivery.event.name in failing:
                delivery.nack(reason=f"cannot handle {delivery.event.name}")
            else:
                delivery.ack()
            if len(deliveries) == count:
                break
    return deliveries


def test_a_group_lives_through_consume_park_replay_drop_reset_and_delete(
    store: EventStore,
) -> None:
    publish_orders(store, "life")
    group = store.category(category="life").consumer_group("billing")
    created = group.create(start=FROM_BEGINNING, settings=SETTINGS)
    assert (created.name, created.lag, created.parked, created.settings) == (
        "billing",
        6,
        0,
        SETTINGS,
    )
    assert "billing" in [info.name for info in store.consumer_groups()]

    # step-1 of each stream fails twice and is parked; the streams go on past it, each in
    # position order.
    deliveries = take(store, "billing", 8, failing={"step-1"})
    for stream in ("o-1", "o-2"):
        positions = [d.event.position for d in deliveries if d.event.stream == stream]
        assert positions == [0, 1, 1, 2]
        assert [d.attempt for d in deliveries if d.event.stream == stream] == [1, 1, 2, 1]
    parked = group.parked()
    assert [(p.stream, p.position, p.attempts, p.reason) for p in parked] == [
        ("o-1", 1, 2, "cannot handle step-1"),
        ("o-2", 1, 2, "cannot handle step-1"),
    ]
    assert (group.info().lag, group.info().parked) == (0, 2)

    # One parked event is replayed (and handled this time), the other dropped.
    assert group.replay(sequence_numbers=[parked[0].sequence_number]) == 1
    replayed = take(store, "billing", 1, failing=set())
    assert replayed[0].event.sequence_number == parked[0].sequence_number
    assert group.drop() == 1
    assert (group.parked(), group.info().parked) == ([], 0)

    assert group.reset(start=FROM_BEGINNING).lag == 6
    group.delete()
    with pytest.raises(GroupNotFoundError):
        group.info()
    with pytest.raises(GroupNotFoundError):
        store.consumer_group("billing").consume()


def live_consumers() -> int:
    gc.collect()
    return sum(isinstance(o, GrpcGroupConsumer) for o in gc.get_objects())


def test_a_consumer_whose_stream_failed_is_freed(store: EventStore, target: str) -> None:
    # Its finalizer would hold the call, whose error holds the consumer in its traceback.
    before = live_consumers()
    for _ in range(3):
        with pytest.raises(GroupNotFoundError):
            store.consumer_group("missing").consume()
    assert live_consumers() == before


def test_a_read_only_token_consumes_and_acknowledges_but_does_not_manage(
    store: EventStore, target: str
) -> None:
    publish_orders(store, "reads")
    store.category(category="reads").consumer_group("audit").create()
    reader = GrpcStorageAdapter(target=target, token=READER)
    try:
        readable = EventStore(reader)
        with pytest.raises(PermissionDeniedError):
            readable.category(category="reads").consumer_group("other").create()
        with pytest.raises(PermissionDeniedError):
            readable.consumer_group("audit").delete()
        assert len(take(readable, "audit", 6, failing=set())) == 6
        assert readable.consumer_group("audit").info().lag == 0
    finally:
        reader.close()


def violation(call: Any) -> tuple[grpc.StatusCode, str]:
    """The status code and the BadRequest field of a call that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    return caught.value.code(), bad_request.field_violations[0].field


BAD_REQUESTS: list[tuple[str, Any, str]] = [
    ("CreateGroup", pb.CreateGroupRequest(name="", target={"log": {}}), "name"),
    ("CreateGroup", pb.CreateGroupRequest(name="g"), "target"),
    (
        "CreateGroup",
        pb.CreateGroupRequest(name="g", target={"category": {"category": ""}}),
        "target.category.category",
    ),
    (
        "CreateGroup",
        pb.CreateGroupRequest(name="g", target={"log": {}}, start={"after_sequence_number": -2}),
        "start.after_sequence_number",
    ),
    (
        "CreateGroup",
        pb.CreateGroupRequest(name="g", target={"log": {}}, settings={"max_retries": -1}),
        "settings.max_retries",
    ),
    (
        "CreateGroup",
        pb.CreateGroupRequest(name="g", target={"log": {}}, settings={"ack_timeout": {}}),
        "settings.ack_timeout",
    ),
    ("ResetGroup", pb.ResetGroupRequest(name="g"), "start"),
    ("DropParkedEvents", pb.DropParkedEventsRequest(name="g"), "sequence_numbers"),
    ("ListParkedEvents", pb.ListParkedEventsRequest(name="g", limit=-1), "limit"),
    (
        "ListParkedEvents",
        pb.ListParkedEventsRequest(name="g", after_sequence_number=-2),
        "after_sequence_number",
    ),
    (
        "ReplayParkedEvents",
        pb.ReplayParkedEventsRequest(name="g", sequence_numbers=[3, -1]),
        "sequence_numbers[1]",
    ),
]


@pytest.mark.parametrize(("method", "request_", "field"), BAD_REQUESTS)
def test_bad_input_names_its_field_by_its_path_in_the_request(
    target: str, method: str, request_: Any, field: str
) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(channel)
        call = getattr(stub, method)
        metadata = (("authorization", f"Bearer {WRITER}"),)
        assert violation(lambda: call(request_, metadata=metadata)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            field,
        )


@pytest.mark.parametrize(
    ("first", "field"),
    [
        (pb.ConsumeRequest(join={"group": "g", "credit": 0}), "join.credit"),
        (pb.ConsumeRequest(join={"group": "", "credit": 1}), "join.group"),
        (pb.ConsumeRequest(credit={"count": 1}), "join"),
    ],
)
def test_a_bad_join_names_its_field(target: str, first: pb.ConsumeRequest, field: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(channel)
        metadata = (("authorization", f"Bearer {WRITER}"),)
        assert violation(lambda: list(stub.Consume(iter([first]), metadata=metadata))) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            field,
        )


class RawConsumer:
    """A ``Consume`` call through the generated stub, its requests sent one by one; as a
    context manager, joined (its ``Joined`` read) on entry and closed on exit."""

    def __init__(self, target: str, group: str, credit: int):
        self.channel = grpc.insecure_channel(target)
        self.requests: queue.SimpleQueue[pb.ConsumeRequest | None] = queue.SimpleQueue()
        self.received: deque[pb.ConsumeResponse.Delivery] = deque()
        self.requests.put(pb.ConsumeRequest(join={"group": group, "credit": credit}))
        self.joined = pb.ConsumeResponse.Joined()
        stub = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(self.channel)
        # A grpc.CallIterator (typed without __next__ in grpc-stubs).
        self.responses: Any = stub.Consume(
            iter(self.requests.get, None),
            metadata=(("authorization", f"Bearer {WRITER}"),),
            # A delivery that never comes fails the test instead of hanging it.
            timeout=60,
        )

    def __enter__(self) -> "RawConsumer":
        self.joined = next(self.responses).joined
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(self, request: pb.ConsumeRequest) -> None:
        self.requests.put(request)

    def next_delivery(self) -> pb.ConsumeResponse.Delivery:
        while not self.received:
            response: pb.ConsumeResponse = next(self.responses)
            self.received.extend(response.deliveries.deliveries)
        return self.received.popleft()

    def close(self) -> None:
        """Half-close, and wait for the server to end the call: it has then applied every
        message sent before."""
        self.requests.put(None)
        try:
            for _ in self.responses:
                pass
        except grpc.RpcError:
            pass  # ended already, with an error a test looked at
        self.channel.close()


def test_credit_given_with_an_ack_makes_room_for_the_next_delivery(
    target: str, store: EventStore
) -> None:
    store.stream(category="acked-credit", stream="o-1").publish(events=new_events(1))
    store.stream(category="acked-credit", stream="o-2").publish(events=new_events(1))
    store.category(category="acked-credit").consumer_group("g-ack-credit").create(
        start=FROM_BEGINNING
    )
    with RawConsumer(target, "g-ack-credit", credit=1) as consumer:
        assert consumer.joined.ack_credit
        first = consumer.next_delivery()
        consumer.send(pb.ConsumeRequest(ack={"delivery_ids": [first.delivery_id], "credit": 1}))
        second = consumer.next_delivery()
        assert {first.event.stream, second.event.stream} == {"o-1", "o-2"}


def test_a_bad_credit_in_an_ack_is_named_and_settles_nothing(
    target: str, store: EventStore
) -> None:
    store.stream(category="bad-credit", stream="o-1").publish(events=new_events(1))
    # What the refused consumer held comes back once its ack timeout passed.
    store.category(category="bad-credit").consumer_group("g-bad-credit").create(
        start=FROM_BEGINNING, settings=GroupSettings(ack_timeout=1.0)
    )
    with RawConsumer(target, "g-bad-credit", credit=1) as consumer:
        delivery = consumer.next_delivery()
        consumer.send(pb.ConsumeRequest(ack={"delivery_ids": [delivery.delivery_id], "credit": -1}))
        assert violation(lambda: next(consumer.responses)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "ack.credit",
        )
    # The ack was refused with its credit: the event is delivered again.
    [again] = first_deliveries(target, "g-bad-credit", 1)
    assert again.event.id == delivery.event.id


def first_deliveries(target: str, group: str, count: int) -> list[pb.ConsumeResponse.Delivery]:
    """The first ``count`` deliveries to a consumer that joins ``group`` now."""
    with RawConsumer(target, group, credit=10) as joining:
        return [joining.next_delivery() for _ in range(count)]


def three_streams_held_long(store: EventStore, category: str, group: str) -> None:
    """One event in each of three streams, and a group whose deliveries stay out for ten
    minutes unless settled or given back."""
    for stream in ("o-1", "o-2", "o-3"):
        store.stream(category=category, stream=stream).publish(events=new_events(1))
    store.category(category=category).consumer_group(group).create(
        start=FROM_BEGINNING, settings=GroupSettings(ack_timeout=600.0)
    )


def test_deliveries_given_back_go_to_the_next_consumer_as_never_delivered(
    target: str, store: EventStore
) -> None:
    three_streams_held_long(store, "given-back", "g-given-back")
    with RawConsumer(target, "g-given-back", credit=10) as leaving:
        held = [leaving.next_delivery() for _ in range(3)]
        leaving.send(pb.ConsumeRequest(ack={"delivery_ids": [held[0].delivery_id]}))
        leaving.send(
            pb.ConsumeRequest(give_back={"delivery_ids": [d.delivery_id for d in held[1:]]})
        )
    # Without the give-back the next consumer would wait the ack timeout for them.
    again = first_deliveries(target, "g-given-back", 2)
    assert sorted((d.event.id, d.attempt) for d in again) == sorted(
        (d.event.id, 1) for d in held[1:]
    )


def test_what_was_sent_and_not_read_is_given_back_and_credit_after_is_ignored(
    target: str, store: EventStore
) -> None:
    three_streams_held_long(store, "unread", "g-unread")
    # Whatever was sent after the join stays unread.
    with RawConsumer(target, "g-unread", credit=10) as leaving:
        leaving.send(pb.ConsumeRequest(give_back={"received_through": 0}))
        # Credit after it sends the leaving consumer nothing more: else the events given
        # back would go out to it again and wait there for the ack timeout.
        leaving.send(pb.ConsumeRequest(ack={"credit": 10}))
    again = first_deliveries(target, "g-unread", 3)
    assert sorted(d.event.stream for d in again) == ["o-1", "o-2", "o-3"]
    assert [d.attempt for d in again] == [1, 1, 1]


def test_undecodable_consume_messages_are_bad_input(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        consume = channel.stream_stream(
            "/logicblocks.event.v1.ConsumerGroupService/Consume",
            request_serializer=lambda raw: raw,
            response_deserializer=pb.ConsumeResponse.FromString,
        )
        metadata = (("authorization", f"Bearer {WRITER}"),)
        assert violation(lambda: list(consume(iter([b"\xff"]), metadata=metadata))) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "request",
        )


def test_a_client_that_stops_taking_deliveries_loses_its_streams_to_the_others(
    store: EventStore,
) -> None:
    # More streams than the client's credit: the stalled client is sent all it has room
    # for and takes none of it, so the server stops counting it as waiting.
    store.publish(
        writes=[
            store.stream(category="stalls", stream=f"s-{n}").write(
                events=[NewEvent(name="e", payload={})]
            )
            for n in range(150)
        ]
    )
    group = store.category(category="stalls").consumer_group("stalls")
    group.create(
        settings=GroupSettings(ack_timeout=1.0, member_timeout=1.0, partitions=4, max_in_flight=500)
    )
    with group.consume(consumer_id="stalled") as stalled:
        next(stalled)  # and nothing more: no ack, no next
        with group.consume(consumer_id="working") as working:
            acked: set[str] = set()

            def work() -> None:
                for delivery in working:
                    delivery.ack()
                    acked.add(delivery.event.stream)

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            # The working consumer gets the stalled one's streams once it is counted gone
            # and its deliveries' ack timeouts have passed.
            assert wait_until(lambda: len(acked) == 150, 20)
            assert [member for member in group.info().members] == ["working"]
        worker.join(timeout=10)


def test_parked_events_come_a_page_at_a_time_and_the_clients_read_every_page() -> None:
    engine = InMemoryStorageAdapter()
    EventStore(engine).log().consumer_group("g").create()
    records = engine.group_records()
    records.claim("g", generation=0, partition=0, member="m", now=0.0, lease_until=1e12)
    count = PARKED_PAGE + 5
    records.save(
        "g",
        generation=0,
        member="m",
        progress=[],
        parked=[make_parked(number, 0) for number in range(count)],
    )
    with running_server(engine) as target, grpc.insecure_channel(target) as channel:
        stub = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(channel)

        def page(**fields: Any) -> tuple[list[int], bool]:
            response = stub.ListParkedEvents(pb.ListParkedEventsRequest(name="g", **fields))
            return [p.sequence_number for p in response.parked_events], response.more

        assert page(limit=2) == ([0, 1], True)
        assert page() == (list(range(PARKED_PAGE)), True)
        assert page(limit=PARKED_PAGE * 5) == (list(range(PARKED_PAGE)), True)
        assert page(after_sequence_number=PARKED_PAGE + 2) == ([count - 2, count - 1], False)
        with GrpcStorageAdapter(target=target) as adapter:
            group = EventStore(adapter).consumer_group("g")
            assert [p.sequence_number for p in group.parked()] == list(range(count))
            # A limit beyond one page: a full page, then the one more asked for.
            limited = group.parked(after_sequence_number=2, limit=PARKED_PAGE + 1)
            assert [p.sequence_number for p in limited] == list(range(3, PARKED_PAGE + 4))

        async def listed_by_the_asyncio_client() -> tuple[list[int], list[int]]:
            async with AsyncGrpcStorageAdapter(target=target) as adapter:
                every = await adapter.parked_events(name="g")
                limited = await adapter.parked_events(
                    name="g", after_sequence_number=2, limit=PARKED_PAGE + 1
                )
            return [p.sequence_number for p in every], [p.sequence_number for p in limited]

        assert asyncio.run(listed_by_the_asyncio_client()) == (
            list(range(count)),
            list(range(3, PARKED_PAGE + 4)),
        )
