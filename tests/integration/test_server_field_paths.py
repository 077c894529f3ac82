"""Every field the server validates, in every request, named by its path from the root.

``google.rpc.BadRequest.field`` is a path into the request (``events[2].payload``,
``target.stream.category``). A client in any language reads it to point at the offending
field, so each violation is provoked here through the generated stubs, and the status,
the message and the ``BadRequest`` path are checked, with nothing written.
"""

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from logicblocks.event.server.limits import Limits
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2
from tests.support.grpc_server import running_server

# Small limits, so the limit rules are reached with small requests.
LIMITS = Limits(max_events_per_publish=3, max_payload_bytes=64, max_name_length=20)
STREAM = {"category": "orders", "stream": "o-1"}
LONG = "x" * 21


def event(**fields: Any) -> events_pb2.NewEvent:
    return events_pb2.NewEvent(**({"name": "placed", "payload": b"{}"} | fields))


PUBLISHES: list[tuple[dict[str, Any], str]] = [
    ({"target": None}, "target"),
    ({"target": {"category": "", "stream": "s"}}, "target.category"),
    ({"target": {"category": "c", "stream": ""}}, "target.stream"),
    ({"target": {"category": LONG, "stream": "s"}}, "target.category"),
    ({"target": {"category": "c", "stream": "tab\there"}}, "target.stream"),
    ({"events": [event(), event(), event(), event()]}, "events"),
    ({"events": [event(), event(name="")]}, "events[1].name"),
    ({"events": [event(name=LONG)]}, "events[0].name"),
    ({"events": [event(id="")]}, "events[0].id"),
    ({"events": [event(id=LONG)]}, "events[0].id"),
    ({"events": [event(id="same"), event(id="same")]}, "events[1].id"),
    ({"events": [event(payload=b"{not json")]}, "events[0].payload"),
    ({"events": [event(payload=b"[1]")]}, "events[0].payload"),
    ({"events": [event(payload=b'{"n":"' + b"x" * 64 + b'"}')]}, "events[0].payload"),
    ({"events": [event(observed_at={"seconds": 10**13})]}, "events[0].observed_at"),
    ({"events": [event(occurred_at={"seconds": -(10**13)})]}, "events[0].occurred_at"),
    ({"conditions": [{}]}, "conditions[0]"),
    (
        {"conditions": [{"stream_is_empty": {}}, {"position_is": {"position": -1}}]},
        "conditions[1].position_is.position",
    ),
]

READ_TARGETS: list[tuple[dict[str, Any], str]] = [
    ({}, "target"),
    ({"target": {}}, "target"),
    ({"target": {"category": {"category": ""}}}, "target.category.category"),
    ({"target": {"category": {"category": LONG}}}, "target.category.category"),
    ({"target": {"stream": {"category": "", "stream": "s"}}}, "target.stream.category"),
    ({"target": {"stream": {"category": "c", "stream": ""}}}, "target.stream.stream"),
    ({"target": {"stream": {"category": "c", "stream": "nl\n"}}}, "target.stream.stream"),
    ({"target": {"log": {}}, "after_sequence_number": -2}, "after_sequence_number"),
]

SCANS = [*READ_TARGETS, ({"target": {"log": {}}, "limit": -1}, "limit")]

SUBSCRIBES = [
    *READ_TARGETS,
    ({"target": {"log": {}}, "heartbeat_interval": {"nanos": 999_000_000}}, "heartbeat_interval"),
    ({"target": {"log": {}}, "heartbeat_interval": {"seconds": 3601}}, "heartbeat_interval"),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[event_store_pb2_grpc.EventStoreStub]:
    with (
        running_server(InMemoryStorageAdapter(), limits=LIMITS) as target,
        grpc.insecure_channel(target) as channel,
    ):
        yield event_store_pb2_grpc.EventStoreStub(channel)


def violation(error: Any) -> tuple[grpc.StatusCode, str, str]:
    """The status code, the message and the path of the one field violation."""
    status = rpc_status.from_call(error)
    assert status is not None, "no rich status details"
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    (field,) = bad_request.field_violations
    # The raised error is also a grpc.Call (grpc-stubs types it as the bare RpcError).
    return error.code(), error.details(), field.field


def assert_nothing_written(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    assert list(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}), timeout=10)) == []


@pytest.mark.parametrize(("fields", "path"), PUBLISHES)
def test_publish(
    stub: event_store_pb2_grpc.EventStoreStub, fields: dict[str, Any], path: str
) -> None:
    request = event_store_pb2.PublishRequest(**({"target": STREAM, "events": [event()]} | fields))
    with pytest.raises(grpc.RpcError) as raised:
        stub.Publish(request, timeout=10)
    code, message, field = violation(raised.value)
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, path)
    assert message.startswith(f"{path}: ")
    assert_nothing_written(stub)


@pytest.mark.parametrize(("fields", "path"), SCANS)
def test_scan(stub: event_store_pb2_grpc.EventStoreStub, fields: dict[str, Any], path: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.Scan(event_store_pb2.ScanRequest(**fields), timeout=10))
    code, message, field = violation(raised.value)
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, path)
    assert message.startswith(f"{path}: ")


@pytest.mark.parametrize(("fields", "path"), SUBSCRIBES)
def test_subscribe(
    stub: event_store_pb2_grpc.EventStoreStub, fields: dict[str, Any], path: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.Subscribe(event_store_pb2.SubscribeRequest(**fields), timeout=10))
    code, message, field = violation(raised.value)
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, path)
    assert message.startswith(f"{path}: ")


LIST_CATEGORIES: list[tuple[dict[str, Any], str]] = [
    ({"page_size": -1}, "page_size"),
    ({"page_size": 1001}, "page_size"),
    ({"page_token": "not a token"}, "page_token"),
    ({"page_token": "MTpi"[:-1]}, "page_token"),
]

LIST_STREAMS: list[tuple[dict[str, Any], str]] = [
    ({"category": ""}, "category"),
    ({"category": LONG}, "category"),
    ({"category": "c\x07"}, "category"),
    ({"category": "c", "prefix": LONG}, "prefix"),
    ({"category": "c", "page_size": 1001}, "page_size"),
    ({"category": "c", "page_token": "%%%"}, "page_token"),
]


@pytest.mark.parametrize(("fields", "path"), LIST_CATEGORIES)
def test_list_categories(
    stub: event_store_pb2_grpc.EventStoreStub, fields: dict[str, Any], path: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListCategories(event_store_pb2.ListCategoriesRequest(**fields), timeout=10)
    code, message, field = violation(raised.value)
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, path)
    assert message.startswith(f"{path}: ")


@pytest.mark.parametrize(("fields", "path"), LIST_STREAMS)
def test_list_streams(
    stub: event_store_pb2_grpc.EventStoreStub, fields: dict[str, Any], path: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListStreams(event_store_pb2.ListStreamsRequest(**fields), timeout=10)
    code, message, field = violation(raised.value)
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, path)
    assert message.startswith(f"{path}: ")
