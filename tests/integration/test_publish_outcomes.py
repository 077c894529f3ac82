"""What a publish reports, over a real server: acknowledged whatever its size, uncertain
when the answer was lost, and settled without duplicates by a retry with the same ids.

Also the documented errors both Python clients raise for statuses the server really
sends (UNAUTHENTICATED, RESOURCE_EXHAUSTED), and retries as a client in another language
makes them: ids, no timestamps.
"""

import asyncio
import threading
from collections.abc import Sequence, Set
from typing import Any

import grpc
import pytest

from logicblocks.event.server.auth import Access
from logicblocks.event.server.limits import Limits
from logicblocks.event.store import (
    AuthenticationError,
    EventStore,
    InvalidInputError,
    LimitExceededError,
    PublishOutcomeUnknownError,
    StorageUnavailableError,
    WriteCondition,
)
from logicblocks.event.store.adapters import (
    AsyncGrpcStorageAdapter,
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
)
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.grpc_server import running_server

_MIB = 1024 * 1024
STREAM = identifier.Stream(category="orders", stream="o-1")
WIRE_STREAM = targets_pb2.Stream(category="orders", stream="o-1")
# How long a held write waits for the test at most, so a failing test cannot hang it.
_HOLD_LIMIT = 60.0


class HeldWrites(InMemoryStorageAdapter):
    """An in-memory store whose writes wait until the test releases them.

    The client's deadline expires while the write is held, so the client cannot know
    whether it happened: the uncertain outcome, made without racing a clock.
    """

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self._counts_lock = threading.Lock()
        self.started = 0
        self.finished = 0

    def write_streams(
        self,
        *,
        writes: Sequence[PendingWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        with self._counts_lock:
            self.started += 1
        try:
            self.release.wait(_HOLD_LIMIT)
            return super().write_streams(writes=writes, conditions=conditions)
        finally:
            with self._counts_lock:
                self.finished += 1

    def all_writes_done(self) -> bool:
        with self._counts_lock:
            return self.started == self.finished


def sent_events() -> list[NewEvent]:
    # One id chosen by the caller, one left to the client: both must survive a retry.
    return [
        NewEvent(id="order-placed-1", name="placed", payload={"n": 1}),
        NewEvent(name="paid", payload={"amount": 12}),
    ]


def assert_settled(held: HeldWrites, error: PublishOutcomeUnknownError, target: str) -> None:
    """Release the held writes, retry with the error's events, find each stored once."""
    assert not isinstance(error, InvalidInputError)
    assert error.ids[0] == "order-placed-1" and error.ids[1]
    assert error.target == STREAM
    held.release.set()
    with GrpcStorageAdapter(target=target) as client:
        retried = client.save(target=error.target, events=error.events)
    assert [event.id for event in retried] == list(error.ids)
    assert [event.payload for event in retried] == [{"n": 1}, {"amount": 12}]
    assert wait_until(held.all_writes_done, timeout=30)
    stored = list(held.scan(target=STREAM))
    assert [event.id for event in stored] == list(error.ids)
    assert retried == stored


def test_an_uncertain_publish_is_reported_as_such_and_a_retry_settles_it() -> None:
    held = HeldWrites()
    with running_server(held) as target:
        client = GrpcStorageAdapter(target=target, timeout=0.5, attempts=2)
        try:
            with pytest.raises(PublishOutcomeUnknownError) as caught:
                client.save(target=STREAM, events=sent_events())
        finally:
            client.close()
        # The client tried again by itself, with the same request.
        assert wait_until(lambda: held.started == 2, timeout=30)
        assert "DEADLINE_EXCEEDED" in str(caught.value)
        assert_settled(held, caught.value, target)


def test_the_asyncio_client_reports_an_uncertain_publish_alike() -> None:
    held = HeldWrites()

    async def publish(target: str) -> PublishOutcomeUnknownError:
        async with AsyncGrpcStorageAdapter(target=target, timeout=0.5, attempts=2) as client:
            with pytest.raises(PublishOutcomeUnknownError) as caught:
                await client.save(target=STREAM, events=sent_events())
        return caught.value

    with running_server(held) as target:
        error = asyncio.run(publish(target))
        assert wait_until(lambda: held.started == 2, timeout=30)
        assert_settled(held, error, target)


def test_an_answer_over_the_receive_limit_is_uncertain_not_invalid() -> None:
    storage = InMemoryStorageAdapter()
    with running_server(storage) as target:
        # A receipt is larger than 16 bytes: the client refuses the answer to a stored write.
        with (
            GrpcStorageAdapter(target=target, max_message_bytes=16) as tiny,
            pytest.raises(PublishOutcomeUnknownError) as caught,
        ):
            tiny.save(target=STREAM, events=[NewEvent(name="placed", payload={})])
        assert "RESOURCE_EXHAUSTED" in str(caught.value)
        with GrpcStorageAdapter(target=target) as client:
            retried = client.save(target=STREAM, events=caught.value.events)
        assert [event.id for event in storage.scan()] == [retried[0].id]


def big_events() -> list[NewEvent]:
    # Five events of about 1000 KiB: within the default payload limit, 4.9 MiB together.
    return [
        NewEvent(
            id=f"big-{index}", name="uploaded", payload={"blob": chr(97 + index) * 1000 * 1024}
        )
        for index in range(5)
    ]


def test_a_publish_larger_than_the_default_receive_limit_is_acknowledged() -> None:
    storage = InMemoryStorageAdapter()
    events = big_events()
    with running_server(storage) as target:
        # A plain generated stub on a default channel: gRPC's 4 MiB receive limit.
        with grpc.insecure_channel(target) as channel:
            stub = event_store_pb2_grpc.EventStoreStub(channel)
            request = event_store_pb2.PublishRequest(
                target=WIRE_STREAM,
                events=[
                    events_pb2.NewEvent(
                        id=f"raw-{index}",
                        name="uploaded",
                        payload=b'{"blob":"' + b"x" * 1000 * 1024 + b'"}',
                    )
                    for index in range(5)
                ],
            )
            assert request.ByteSize() > 4 * _MIB
            response = stub.Publish(request, timeout=30)
        assert [receipt.id for receipt in response.receipts] == [f"raw-{i}" for i in range(5)]
        assert [receipt.position for receipt in response.receipts] == [0, 1, 2, 3, 4]
        assert len(response.events) == 0

        with GrpcStorageAdapter(target=target, max_message_bytes=4 * _MIB) as client:
            stored = client.save(target=STREAM, events=events)
        assert [event.id for event in stored] == [event.id for event in events]
        assert [event.payload for event in stored] == [event.payload for event in events]
        assert [event.position for event in stored] == [5, 6, 7, 8, 9]
        assert stored == list(storage.scan(target=STREAM))[5:]


def publish_raw(stub: event_store_pb2_grpc.EventStoreStub, payload: bytes) -> Any:
    return stub.Publish(
        event_store_pb2.PublishRequest(
            target=WIRE_STREAM,
            events=[events_pb2.NewEvent(id="e-1", name="placed", payload=payload)],
        ),
        timeout=10,
    )


def test_a_retry_with_ids_and_no_timestamps_gets_the_stored_receipts() -> None:
    storage = InMemoryStorageAdapter()
    with running_server(storage) as target, grpc.insecure_channel(target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        first = publish_raw(stub, b'{"n":1}')
        again = publish_raw(stub, b'{"n":1}')
        assert again == first
        # The same id with other content: refused, naming the id, nothing written.
        with pytest.raises(grpc.RpcError) as caught:
            publish_raw(stub, b'{"n": 1}')
        error: Any = caught.value
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error.details() or "").startswith("events[0].id:")
        assert storage.head() == 0


def test_an_in_process_retry_with_fresh_events_and_no_timestamps_is_the_same_publish() -> None:
    store = EventStore(InMemoryStorageAdapter())
    stream = store.stream(category="orders", stream="o-1")
    first = stream.publish(events=[NewEvent(id="e-1", name="placed", payload={"n": 1})])
    again = stream.publish(events=[NewEvent(id="e-1", name="placed", payload={"n": 1})])
    assert again == first
    other_time = first[0].observed_at.replace(year=2001)
    with pytest.raises(InvalidInputError) as caught:
        stream.publish(
            events=[NewEvent(id="e-1", name="placed", payload={"n": 1}, observed_at=other_time)]
        )
    assert caught.value.field == "events[0].id"


TOKEN = "writer-5f3a9c1e77d2"


def test_both_clients_raise_documented_errors_for_server_statuses() -> None:
    limits = Limits(max_subscriptions=1)
    tokens = {TOKEN: Access.READ_WRITE}
    with running_server(InMemoryStorageAdapter(), tokens=tokens, limits=limits) as target:
        # UNAUTHENTICATED: no token.
        with GrpcStorageAdapter(target=target) as anonymous, pytest.raises(AuthenticationError):
            anonymous.save(target=STREAM, events=[NewEvent(name="placed", payload={})])

        # RESOURCE_EXHAUSTED sent by the server: one subscription is the limit, and a
        # subscription from the end holds its slot once subscribe() returns.
        with GrpcStorageAdapter(target=target, token=TOKEN) as client:
            held = client.subscribe(from_end=True)
            try:
                with pytest.raises(LimitExceededError, match="max_subscriptions"):
                    client.subscribe(from_end=True)
            finally:
                held.close()

        async def the_asyncio_client() -> None:
            async with AsyncGrpcStorageAdapter(target=target) as anonymous:
                with pytest.raises(AuthenticationError):
                    await anonymous.save(target=STREAM, events=[NewEvent(name="n", payload={})])
            async with AsyncGrpcStorageAdapter(target=target, token=TOKEN) as client:
                held = client.subscribe(from_end=True)
                await held.start()
                try:
                    with pytest.raises(LimitExceededError, match="max_subscriptions"):
                        await client.subscribe(from_end=True).start()
                finally:
                    held.close()

        asyncio.run(the_asyncio_client())


def test_calls_on_a_closed_adapter_say_nothing_was_sent() -> None:
    with running_server(InMemoryStorageAdapter()) as target:
        adapter = GrpcStorageAdapter(target=target)
        adapter.close()
        stream = EventStore(adapter).stream(category="c", stream="s")
        with pytest.raises(StorageUnavailableError) as published:
            stream.publish(events=[NewEvent(name="n", payload={})])
        with pytest.raises(StorageUnavailableError) as scanned:
            stream.read()

        async def asynchronously() -> tuple[BaseException, BaseException]:
            client = AsyncGrpcStorageAdapter(target=target)
            await client.close()
            with pytest.raises(StorageUnavailableError) as published:
                await client.save(
                    target=identifier.Stream(category="c", stream="s"),
                    events=[NewEvent(name="n", payload={})],
                )
            with pytest.raises(StorageUnavailableError) as scanned:
                [event async for event in client.scan()]
            return published.value, scanned.value

        errors = [published.value, scanned.value, *asyncio.run(asynchronously())]
    # Certain: grpc refused each call before sending it, so not the uncertain kind.
    assert not any(isinstance(error, PublishOutcomeUnknownError) for error in errors)
    assert all("closed" in str(error) for error in errors)
