"""Scans on the wire: batching, bounds, limits and payload bytes passed through."""

from collections.abc import Iterator

import grpc
import pytest

from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2
from tests.support.grpc_server import running_server


@pytest.fixture
def stub() -> Iterator[event_store_pb2_grpc.EventStoreStub]:
    with (
        running_server(InMemoryStorageAdapter()) as target,
        grpc.insecure_channel(target) as channel,
    ):
        yield event_store_pb2_grpc.EventStoreStub(channel)


def fill(stub: event_store_pb2_grpc.EventStoreStub, count: int) -> None:
    for start in range(0, count, 250):
        stub.Publish(
            event_store_pb2.PublishRequest(
                target={"category": "c", "stream": f"s-{start // 250 % 2}"},
                events=[
                    events_pb2.NewEvent(name="e", payload=f'{{"n":{n}}}'.encode())
                    for n in range(start, min(count, start + 250))
                ],
            ),
            timeout=10,
        )


def scan(
    stub: event_store_pb2_grpc.EventStoreStub, **fields: object
) -> list[event_store_pb2.ScanResponse]:
    request = event_store_pb2.ScanRequest(**fields)  # type: ignore[arg-type]
    return list(stub.Scan(request, timeout=30))


def test_a_scan_sends_several_events_per_message_in_order(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    fill(stub, 1_200)
    messages = scan(stub, target={"log": {}})
    numbers = [e.sequence_number for m in messages for e in m.events]
    assert numbers == list(range(1_200))
    assert 1 < len(messages) < 100
    assert all(len(m.events) > 1 for m in messages)


def test_a_scan_honours_after_and_limit_across_pages(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    fill(stub, 1_200)
    messages = scan(stub, target={"log": {}}, after_sequence_number=99, limit=750)
    numbers = [e.sequence_number for m in messages for e in m.events]
    assert numbers == list(range(100, 850))
    assert scan(stub, target={"log": {}}, limit=0) == []
    in_stream = scan(stub, target={"stream": {"category": "c", "stream": "s-1"}}, limit=300)
    events = [e for m in in_stream for e in m.events]
    assert [e.position for e in events] == list(range(300))
    assert {e.stream for e in events} == {"s-1"}


def test_payload_bytes_come_back_exactly_as_sent(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    # Spacing, key order, exponent notation and a 100-digit integer: kept as sent.
    payload = b'{ "z": 1e300, "a": [1.50, -0.0], "big": ' + b"9" * 100 + b', "s": "\\u00e9" }'
    stub.Publish(
        event_store_pb2.PublishRequest(
            target={"category": "c", "stream": "exact"},
            events=[events_pb2.NewEvent(name="exact", payload=payload)],
        ),
        timeout=10,
    )
    (message,) = scan(stub, target={"category": {"category": "c"}})
    assert message.events[0].payload == payload
