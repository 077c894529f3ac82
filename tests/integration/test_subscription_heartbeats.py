"""Heartbeats let a subscriber of a quiet target checkpoint past other targets' events.

Two server processes share a PostgreSQL database. Events published through one server go
to a busy category; a subscription of a quiet category on the other server, asking for a
heartbeat every 0.1 s, must see its checkpoint reach the head of those events without
receiving any of them. On a store where nothing happens at all, the heartbeats keep
coming and carry the head.
"""

from contextlib import ExitStack

import grpc
from google.protobuf.duration_pb2 import Duration

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc
from tests.support.server_process import COMMAND, ServerProcess
from tests.support.subscribers import Collector

TIMEOUT = 60.0


def test_a_quiet_subscription_checkpoints_past_events_published_through_another_server(
    postgres_database: str,
) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", postgres_database]
    with ExitStack() as stack:
        subscribed_to, published_to = (stack.enter_context(ServerProcess(serve)) for _ in "ab")
        reader = stack.enter_context(GrpcStorageAdapter(target=subscribed_to.target))
        writer = stack.enter_context(GrpcStorageAdapter(target=published_to.target))
        quiet = stack.enter_context(
            Collector(
                reader.subscribe(
                    target=identifier.Category(category="quiet"), heartbeat_interval=1.0
                ),
                name="quiet",
            )
        )
        busy = EventStore(writer).stream(category="busy", stream="b-1")
        for round_number in range(3):
            published = busy.publish(
                events=[
                    NewEvent(name="ping", payload={"round": round_number, "n": n}) for n in range(5)
                ]
            )
            quiet.wait_for_head(published[-1].sequence_number, TIMEOUT)
        assert quiet.subscription.caught_up
        assert quiet.events == []


def test_an_idle_subscription_receives_heartbeats_carrying_the_head() -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    with ServerProcess(serve) as server:
        with GrpcStorageAdapter(target=server.target) as adapter:
            stored = (
                EventStore(adapter)
                .stream(category="busy", stream="b-1")
                .publish(events=[NewEvent(name="ping", payload={})])
            )
        head = stored[-1].sequence_number
        interval = Duration()
        interval.FromSeconds(1)
        request = event_store_pb2.SubscribeRequest(
            target={"category": {"category": "quiet"}}, heartbeat_interval=interval
        )
        with grpc.insecure_channel(server.target) as channel:
            call = event_store_pb2_grpc.EventStoreStub(channel).Subscribe(request, timeout=TIMEOUT)
            messages = iter(call)
            first = next(messages)
            assert first.WhichOneof("content") == "caught_up"
            assert first.caught_up.head == head
            # Nothing is published: every further message is a heartbeat with the same head.
            for _ in range(3):
                message = next(messages)
                assert message.WhichOneof("content") == "heartbeat"
                assert message.heartbeat.head == head
            call.cancel()  # type: ignore[no-untyped-call]  # untyped in grpc-stubs
