"""The server's answers to bad and failing requests: status codes, details, survival.

Requests are made with the generated stubs (as a client in any language would) and, for
malformed ones, with raw bytes on a raw channel.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from logicblocks.event.store import (
    EventStore,
    InvalidInputError,
    StorageUnavailableError,
    UnmetWriteConditionError,
    position_is,
)
from logicblocks.event.store.adapters import (
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
    SqliteStorageAdapter,
)
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import (
    conditions_pb2,
    event_store_pb2,
    event_store_pb2_grpc,
    events_pb2,
    targets_pb2,
)
from tests.support.grpc_server import running_server

STREAM = targets_pb2.Stream(category="orders", stream="o-1")


@pytest.fixture
def adapter() -> InMemoryStorageAdapter:
    return InMemoryStorageAdapter()


@pytest.fixture
def target(adapter: InMemoryStorageAdapter) -> Iterator[str]:
    with running_server(adapter) as target:
        yield target


@pytest.fixture
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.Channel) -> event_store_pb2_grpc.EventStoreStub:
    return event_store_pb2_grpc.EventStoreStub(channel)


def event(name: str = "placed", payload: bytes = b"{}", **fields: Any) -> events_pb2.NewEvent:
    return events_pb2.NewEvent(name=name, payload=payload, **fields)


def publish(
    stub: event_store_pb2_grpc.EventStoreStub, *events: events_pb2.NewEvent, **fields: Any
) -> event_store_pb2.PublishResponse:
    arguments: dict[str, Any] = {"target": STREAM, "events": events} | fields
    request = event_store_pb2.PublishRequest(**arguments)
    return stub.Publish(request, timeout=10)


def details(error: grpc.RpcError) -> list[any_pb2.Any]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no rich status details"
    return list(status.details)


def rpc_error(raised: pytest.ExceptionInfo[grpc.RpcError]) -> Any:
    # The raised error is also a grpc.Call; typed loosely because grpc-stubs types it as
    # the bare RpcError.
    return raised.value


def assert_serving(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    before = list(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}), timeout=10))
    publish(stub, event(name="still-serving"))
    after = list(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}), timeout=10))
    assert sum(len(m.events) for m in after) == sum(len(m.events) for m in before) + 1


# Conditions -------------------------------------------------------------------------------


def test_an_unmet_condition_is_failed_precondition_with_details(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    publish(stub, event(), event(), event())
    with pytest.raises(grpc.RpcError) as raised:
        publish(stub, event(), conditions=[{"position_is": {"position": 1}}])
    error = rpc_error(raised)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    (packed,) = details(error)
    failure = conditions_pb2.WriteConditionFailure()
    assert packed.Unpack(failure)
    assert (failure.category, failure.stream) == ("orders", "o-1")
    assert failure.condition.position_is.position == 1
    assert failure.last_position == 2


def test_an_unmet_condition_on_an_empty_stream_has_no_last_position(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        publish(stub, event(), conditions=[{"position_is": {"position": 0}}])
    failure = conditions_pb2.WriteConditionFailure()
    assert details(rpc_error(raised))[0].Unpack(failure)
    assert not failure.HasField("last_position")


def test_the_python_client_raises_the_documented_error_with_the_condition(target: str) -> None:
    with GrpcStorageAdapter(target=target) as adapter:
        stream = EventStore(adapter).stream(category="orders", stream="o-1")
        stream.publish(events=[NewEvent(name="placed", payload={})])
        with pytest.raises(UnmetWriteConditionError) as raised:
            stream.publish(
                events=[NewEvent(name="placed", payload={})], conditions={position_is(5)}
            )
    assert raised.value.condition == position_is(5)
    assert raised.value.last_position == 0


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "field"),
    # Every other validated field is in test_server_field_paths.py.
    [
        ({"events": [event(payload=b"\xff\xfe")]}, "events[0].payload"),
        ({"events": [event(payload=b"{not json")]}, "events[0].payload"),
        ({"events": [event(payload=b"[1, 2]")]}, "events[0].payload"),
        ({"events": [event(payload=b'{"n": NaN}')]}, "events[0].payload"),
        ({"events": [event(payload=b'{"n": 1e999}')]}, "events[0].payload"),
        ({"events": [event(payload=b'{"lone": "\\ud800"}')]}, "events[0].payload"),
        ({"events": [event(payload=b"[" * 200_000)]}, "events[0].payload"),
    ],
)
def test_bad_payloads_of_every_kind_are_invalid_argument(
    stub: event_store_pb2_grpc.EventStoreStub,
    request_fields: dict[str, Any],
    field: str,
) -> None:
    request_fields = {"events": [event()]} | request_fields
    with pytest.raises(grpc.RpcError) as raised:
        publish(stub, **request_fields)
    error = rpc_error(raised)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    bad_request = error_details_pb2.BadRequest()
    assert details(error)[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == field
    assert list(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}), timeout=10)) == []
    assert_serving(stub)


def test_the_python_client_raises_invalid_input_for_a_server_side_rule(target: str) -> None:
    # An id used in another stream is only detectable by the server.
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        store.stream(category="c", stream="a").publish(
            events=[NewEvent(name="n", payload={}, id="shared-id")]
        )
        with pytest.raises(InvalidInputError) as raised:
            store.stream(category="c", stream="b").publish(
                events=[NewEvent(name="n", payload={}, id="shared-id")]
            )
    assert raised.value.field == "events[0].id"
    assert "another stream" in raised.value.rule


def test_malformed_request_bytes_are_rejected_and_the_server_survives(
    channel: grpc.Channel, stub: event_store_pb2_grpc.EventStoreStub
) -> None:
    for method in ("Publish", "Scan"):
        for garbage in (b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x12" * 64):
            raw = channel.unary_unary(f"/logicblocks.event.v1.EventStore/{method}", None, None)
            with pytest.raises(grpc.RpcError) as raised:
                raw(garbage, timeout=10)
            error = rpc_error(raised)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error.details().startswith("request: ")
    assert_serving(stub)


def test_an_oversized_publish_is_resource_exhausted_and_the_server_survives(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    huge = b'{"blob":"' + b"x" * (17 * 1024 * 1024) + b'"}'
    with pytest.raises(grpc.RpcError) as raised:
        publish(stub, event(payload=huge))
    assert rpc_error(raised).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_serving(stub)


def test_unknown_methods_are_unimplemented(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary("/logicblocks.event.v1.EventStore/Nope", None, None)(b"", timeout=10)
    assert rpc_error(raised).code() == grpc.StatusCode.UNIMPLEMENTED


# Storage failures ---------------------------------------------------------------------------


def test_unreachable_storage_is_unavailable(tmp_path: Path) -> None:
    storage = SqliteStorageAdapter(path=tmp_path / "events.db")
    with running_server(storage) as target, grpc.insecure_channel(target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        storage.close()
        with pytest.raises(grpc.RpcError) as raised:
            publish(stub, event())
        assert rpc_error(raised).code() == grpc.StatusCode.UNAVAILABLE
        with GrpcStorageAdapter(target=target, attempts=2) as adapter:
            with pytest.raises(StorageUnavailableError):
                adapter.save(
                    target=identifier.Stream(category="c", stream="s"),
                    events=[NewEvent(name="n", payload={})],
                )
            with pytest.raises(StorageUnavailableError):
                list(adapter.scan())


class FaultyStorage(InMemoryStorageAdapter):
    """A backend with a bug: reading fails with an error nobody anticipated."""

    def read_records(self, **arguments: Any) -> Iterator[EventRecord]:
        raise ZeroDivisionError("a bug deep in a backend")


def test_an_unexpected_error_is_internal_without_a_stack_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running_server(FaultyStorage()) as target, grpc.insecure_channel(target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            list(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}), timeout=10))
        error = rpc_error(raised)
        assert error.code() == grpc.StatusCode.INTERNAL
        assert error.details() == "internal error"
        assert "Traceback" not in str(error) and "ZeroDivision" not in str(error)
        # The server logged it for its operators, and still serves.
        assert any("event=internal_error" in r.getMessage() for r in caplog.records)
        publish(stub, event())
