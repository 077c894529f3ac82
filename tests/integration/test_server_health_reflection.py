"""The standard services beside the event store: health checking and reflection."""

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from logicblocks.event.store.adapters import InMemoryStorageAdapter
from tests.support.grpc_server import running_server


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    with (
        running_server(InMemoryStorageAdapter()) as target,
        grpc.insecure_channel(target) as channel,
    ):
        yield channel


@pytest.mark.parametrize("service", ["", "logicblocks.event.v1.EventStore"])
def test_health_reports_serving(channel: grpc.Channel, service: str) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services_and_describes_the_contract(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="logicblocks.event.v1.EventStore"
        ),
    ]
    listed, described = list(stub.ServerReflectionInfo(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert {"logicblocks.event.v1.EventStore", "grpc.health.v1.Health"} <= names
    files = described.file_descriptor_response.file_descriptor_proto
    assert any(b"logicblocks/event/v1/event_store.proto" in data for data in files)


def test_reflection_answers_under_v1_as_newer_tools_ask(channel: grpc.Channel) -> None:
    # v1's messages are v1alpha's on the wire; only the method path differs.
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    requests = [reflection_pb2.ServerReflectionRequest(list_services="")]
    (listed,) = list(info(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert {
        "logicblocks.event.v1.EventStore",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
