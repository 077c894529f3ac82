"""Malformed and extreme requests to a running server: a clean status every time, no crash.

Requests go through a raw channel (bytes in, bytes out), so anything a client in any
language could put on the wire is tried: random bytes, invalid UTF-8 in strings, payloads
that are not JSON or nest deeply, numbers at the edges of int64, empty and oversized
fields. A clean status is one the contract documents for bad input (or success); never
``UNKNOWN`` or ``INTERNAL``, never a stack trace in the details. Afterwards the server still
answers health checks and ordinary calls.
"""

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicblocks.event.server.limits import Limits
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.v1 import (
    conditions_pb2,
    event_store_pb2,
    event_store_pb2_grpc,
    events_pb2,
    targets_pb2,
)
from tests.support.grpc_server import running_server

SERVICE = "/logicblocks.event.v1.EventStore/"
CLEAN = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    # A subscription that starts after the head of the store (a checkpoint from elsewhere).
    grpc.StatusCode.OUT_OF_RANGE,
}
INT64 = st.one_of(
    st.sampled_from([-(2**63), -1, 0, 1, 2**31, 2**63 - 1]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(["", "x" * 300, "\x00", "a\nb", "\u202e", "é" * 250]),
)
# Small limits, so that oversized fields are cheap to make.
LIMITS = Limits(max_payload_bytes=4096, max_request_bytes=64 * 1024, max_name_length=100)


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


PAYLOADS = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"{}",
            b"null",
            b"[]",
            b'"text"',
            b'{"a":NaN}',
            b'{"a":1e999}',
            b'{"a":-1e999}',
            b'{"a":' + b"9" * 5000 + b"}",
            b'{"a":"\xff\xfe"}',
            b'{"a":"\xed\xa0\x80"}',
            b'{"a":1,"a":2}',
            b'{"a":1',
            b"[" * 5000,
            deep(99),
            deep(101),
            deep(2000),
            b'{"a":"' + b"x" * 5000 + b'"}',
            b'{"\\ud800":1}',
        ]
    ),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=5), children, max_size=3),
        ),
        max_leaves=10,
    ).map(lambda value: repr(value).encode("utf-8", "replace")),
)
TIMESTAMPS = st.one_of(
    st.none(),
    st.builds(
        Timestamp,
        seconds=INT64,
        nanos=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    ),
)
EVENTS = st.builds(
    events_pb2.NewEvent,
    id=st.one_of(st.none(), TEXT),
    name=TEXT,
    payload=PAYLOADS,
    observed_at=TIMESTAMPS,
    occurred_at=TIMESTAMPS,
)
CONDITIONS = st.one_of(
    st.builds(
        conditions_pb2.WriteCondition,
        position_is=st.builds(conditions_pb2.PositionIs, position=INT64),
    ),
    st.just(conditions_pb2.WriteCondition(stream_is_empty=conditions_pb2.StreamIsEmpty())),
    st.just(conditions_pb2.WriteCondition()),
)
PUBLISHES = st.builds(
    event_store_pb2.PublishRequest,
    target=st.one_of(st.none(), st.builds(targets_pb2.Stream, category=TEXT, stream=TEXT)),
    events=st.lists(EVENTS, max_size=4),
    conditions=st.lists(CONDITIONS, max_size=3),
)
TARGETS = st.one_of(
    st.none(),
    st.just(targets_pb2.Target()),
    st.just(targets_pb2.Target(log=targets_pb2.Log())),
    st.builds(targets_pb2.Target, category=st.builds(targets_pb2.Category, category=TEXT)),
    st.builds(targets_pb2.Target, stream=st.builds(targets_pb2.Stream, category=TEXT, stream=TEXT)),
)
SCANS = st.builds(
    event_store_pb2.ScanRequest,
    target=TARGETS,
    after_sequence_number=st.one_of(st.none(), INT64),
    limit=st.one_of(st.none(), INT64),
)


@st.composite
def subscribes(draw: st.DrawFn) -> event_store_pb2.SubscribeRequest:
    request = event_store_pb2.SubscribeRequest(target=draw(TARGETS))
    start = draw(st.sampled_from(["none", "beginning", "end", "after"]))
    if start == "beginning":
        request.beginning.SetInParent()
    elif start == "end":
        request.end.SetInParent()
    elif start == "after":
        request.after_sequence_number = draw(INT64)
    if draw(st.booleans()):
        request.heartbeat_interval.CopyFrom(
            Duration(
                seconds=draw(INT64),
                nanos=draw(st.integers(min_value=-(2**31), max_value=2**31 - 1)),
            )
        )
    return request


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with running_server(InMemoryStorageAdapter(), limits=LIMITS) as target:
        yield target


@pytest.fixture(scope="module")
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as channel:
        yield channel


def assert_clean(code: grpc.StatusCode, details: str | None, what: str) -> None:
    assert code in CLEAN, f"{what}: {code.name} {details!r}"
    assert "Traceback" not in (details or ""), f"{what}: {details!r}"


def call_unary(channel: grpc.Channel, method: str, body: bytes) -> None:
    call = channel.unary_unary(SERVICE + method, None, None)
    try:
        call(body, timeout=10)
    except grpc.RpcError as error:
        assert_clean(error.code(), error.details(), method)


def call_streaming(channel: grpc.Channel, method: str, body: bytes) -> None:
    """Read the first message at most: a valid subscription would go on for ever."""
    stream: Any = channel.unary_stream(SERVICE + method, None, None)(body, timeout=10)
    try:
        next(stream, None)
    except grpc.RpcError as error:
        assert_clean(error.code(), error.details(), method)
    finally:
        stream.cancel()


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=st.binary(max_size=200))
def test_random_bytes_as_any_request(channel: grpc.Channel, body: bytes) -> None:
    call_unary(channel, "Publish", body)
    call_streaming(channel, "Scan", body)
    call_streaming(channel, "Subscribe", body)


@FUZZ
@given(request=PUBLISHES)
def test_extreme_publishes(channel: grpc.Channel, request: event_store_pb2.PublishRequest) -> None:
    call_unary(channel, "Publish", request.SerializeToString())


@FUZZ
@given(request=SCANS)
def test_extreme_scans(channel: grpc.Channel, request: event_store_pb2.ScanRequest) -> None:
    call_streaming(channel, "Scan", request.SerializeToString())


@FUZZ
@given(request=subscribes())
def test_extreme_subscribes(
    channel: grpc.Channel, request: event_store_pb2.SubscribeRequest
) -> None:
    call_streaming(channel, "Subscribe", request.SerializeToString())


def test_invalid_utf8_in_string_fields_and_oversized_requests(channel: grpc.Channel) -> None:
    # Field 1 (target, a Stream) holding field 1 (category) with bytes that are not UTF-8.
    bad_category = b"\x0a\x04\x0a\x02\xff\xfe"
    call_unary(channel, "Publish", bad_category)
    oversized = event_store_pb2.PublishRequest(
        target=targets_pb2.Stream(category="c", stream="s"),
        events=[events_pb2.NewEvent(name="n", payload=b'{"a":"' + b"x" * 4000 + b'"}')] * 20,
    ).SerializeToString()
    assert len(oversized) > LIMITS.max_request_bytes
    with pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary(SERVICE + "Publish", None, None)(oversized, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_server_still_serves_after_the_fuzzing(channel: grpc.Channel) -> None:
    """Runs last in this module (pytest keeps file order): the server took everything above."""
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    stub = event_store_pb2_grpc.EventStoreStub(channel)
    response = stub.Publish(
        event_store_pb2.PublishRequest(
            target=targets_pb2.Stream(category="after", stream="fuzz"),
            events=[events_pb2.NewEvent(id="after-fuzz", name="ok", payload=b"{}")],
        ),
        timeout=10,
    )
    assert [receipt.id for receipt in response.receipts] == ["after-fuzz"]
