"""The server's limits: each refused with a status naming it, nothing written, configurable."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from logicblocks.event.server.limits import Limits
from logicblocks.event.store import EventStore, InvalidInputError
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.grpc_server import running_server
from tests.support.server_process import COMMAND, ServerProcess

LIMITS = Limits(
    max_events_per_publish=3,
    max_payload_bytes=100,
    max_request_bytes=64 * 1024,
    max_name_length=20,
    max_subscriptions=3,
    max_subscriptions_per_connection=2,
    max_health_watches=3,
    max_health_watches_per_connection=2,
)


@pytest.fixture
def adapter() -> InMemoryStorageAdapter:
    return InMemoryStorageAdapter()


@pytest.fixture
def target(adapter: InMemoryStorageAdapter) -> Iterator[str]:
    with running_server(adapter, limits=LIMITS) as target:
        yield target


@pytest.fixture
def stub(target: str) -> Iterator[event_store_pb2_grpc.EventStoreStub]:
    with grpc.insecure_channel(target) as channel:
        yield event_store_pb2_grpc.EventStoreStub(channel)


def event(name: str = "placed", payload: bytes = b"{}") -> events_pb2.NewEvent:
    return events_pb2.NewEvent(name=name, payload=payload)


def publish(
    stub: event_store_pb2_grpc.EventStoreStub,
    events: list[events_pb2.NewEvent],
    category: str = "orders",
    stream: str = "o-1",
) -> event_store_pb2.PublishResponse:
    request = event_store_pb2.PublishRequest(
        target=targets_pb2.Stream(category=category, stream=stream), events=events
    )
    return stub.Publish(request, timeout=10)


def text(error: grpc.RpcError) -> str:
    return error.details() or ""


def refused(call: Any, *arguments: Any, **keywords: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*arguments, **keywords)
    return caught.value


@pytest.mark.parametrize(
    ("events", "fields"),
    [
        ([event()] * 4, {}),
        ([event(payload=b'{"a":"' + b"x" * 100 + b'"}')], {}),
        ([event(name="n" * 21)], {}),
        ([event(name="bad\nname")], {}),
        ([event()], {"category": "c" * 21}),
        ([event()], {"stream": "s\x00"}),
        ([event()], {"category": "tab\there"}),
    ],
    ids=[
        "events",
        "payload",
        "name-length",
        "name-control",
        "category-length",
        "stream-nul",
        "category-tab",
    ],
)
def test_a_publish_over_a_limit_is_invalid_argument_and_writes_nothing(
    stub: event_store_pb2_grpc.EventStoreStub,
    adapter: InMemoryStorageAdapter,
    events: list[events_pb2.NewEvent],
    fields: dict[str, str],
) -> None:
    error = refused(publish, stub, events, **fields)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_" in text(error) or "control characters" in text(error)
    assert adapter.head() == -1  # an empty store


def test_the_limits_themselves_are_accepted(
    stub: event_store_pb2_grpc.EventStoreStub, adapter: InMemoryStorageAdapter
) -> None:
    payload = b'{"a":"' + b"x" * 92 + b'"}'
    assert len(payload) == 100
    response = publish(stub, [event(name="n" * 20, payload=payload)] * 3, category="c" * 20)
    assert [receipt.position for receipt in response.receipts] == [0, 1, 2]
    assert adapter.head() == 2


def test_names_may_hold_any_printable_unicode(
    stub: event_store_pb2_grpc.EventStoreStub, adapter: InMemoryStorageAdapter
) -> None:
    publish(stub, [event(name="commandé ✓")], category="café", stream="o 1/ü")
    [stored] = adapter.scan()
    assert (stored.name, stored.category, stored.stream) == ("commandé ✓", "café", "o 1/ü")


def test_a_request_over_the_request_limit_is_resource_exhausted_from_grpc(
    stub: event_store_pb2_grpc.EventStoreStub, adapter: InMemoryStorageAdapter
) -> None:
    # Many events within the payload limit, together over max_request_bytes.
    events = [event(payload=b'{"a":"' + b"x" * 90 + b'"}')] * 1000
    error = refused(publish, stub, events)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert adapter.head() == -1  # an empty store


def test_the_python_client_raises_invalid_input_naming_the_limit(target: str) -> None:
    client = GrpcStorageAdapter(target=target)
    try:
        store = EventStore(client)
        with pytest.raises(InvalidInputError) as caught:
            store.stream(category="orders", stream="o-1").publish(
                events=[NewEvent(name="placed", payload={})] * 4
            )
        assert caught.value.field == "events"
        assert "max_events_per_publish" in str(caught.value)
    finally:
        client.close()


def test_a_scan_of_a_bad_name_is_invalid_argument(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    request = event_store_pb2.ScanRequest(
        target=targets_pb2.Target(category=targets_pb2.Category(category="x" * 21))
    )
    error = refused(lambda: list(stub.Scan(request, timeout=10)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_name_length" in text(error)


def subscribe(channel: grpc.Channel) -> Any:
    """A live subscription to the log, returned once the server has sent caught-up."""
    stub = event_store_pb2_grpc.EventStoreStub(channel)
    call: Any = stub.Subscribe(event_store_pb2.SubscribeRequest(target={"log": {}}))
    first = next(call)
    assert first.HasField("caught_up")
    return call


def watch_health(channel: grpc.Channel) -> Any:
    """A health Watch stream (no token needed), returned once it has sent the status."""
    call: Any = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
    first = next(call)
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    return call


@pytest.mark.parametrize(
    ("open_call", "limit"),
    [(subscribe, "max_subscriptions"), (watch_health, "max_health_watches")],
)
def test_long_calls_are_limited_per_connection_and_per_server(
    target: str, open_call: Callable[[grpc.Channel], Any], limit: str
) -> None:
    with (
        grpc.insecure_channel(target) as first,
        grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) as other,
    ):
        held = [open_call(first), open_call(first)]
        error = refused(open_call, first)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"{limit}_per_connection=2" in text(error)

        held.append(open_call(other))
        error = refused(open_call, other)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"{limit}=3" in text(error)

        # A call that ends gives its slot back.
        held.pop().cancel()
        deadline = time.monotonic() + 10
        while True:
            try:
                held.append(open_call(other))
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert time.monotonic() < deadline, "the slot was never given back"
        for call in held:
            call.cancel()


def test_limits_come_from_flags_and_the_environment() -> None:
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--max-name-length", "6"]
    env = {"EVENT_STORE_MAX_EVENTS_PER_PUBLISH": "1"}
    with ServerProcess(command, env=env) as server, grpc.insecure_channel(server.target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        error = refused(publish, stub, [event()] * 2, category="a")
        assert "at most 1 events (max_events_per_publish" in text(error)
        error = refused(publish, stub, [event()], category="abcdefg")
        assert "at most 6 characters (max_name_length)" in text(error)
        assert len(publish(stub, [event()], category="abcdef").receipts) == 1


def test_a_limit_below_one_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="max_events_per_publish"):
        Limits(max_events_per_publish=0)
