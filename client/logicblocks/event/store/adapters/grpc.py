"""The gRPC adapter: the documented API in front of an event store server.

``EventStore(GrpcStorageAdapter(target="host:port"))`` behaves as ``EventStore`` does over
any local adapter: the same results, the same exceptions, iteration that streams.
"""

import random
import time
from collections.abc import Iterator, Sequence, Set

import grpc
from google.protobuf import any_pb2
from grpc_status import rpc_status

from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.v1 import conditions_pb2, event_store_pb2, event_store_pb2_grpc

from ..conditions import WriteCondition
from ..exceptions import InvalidInputError, StorageUnavailableError
from ..records import prepare_events, validate_target
from ..subscription import Subscription, resolve_start
from ..wire import (
    bad_request_from_wire,
    condition_failure_from_wire,
    condition_to_wire,
    pending_event_to_wire,
    stored_event_from_wire,
    stream_to_wire,
    target_to_wire,
)
from .base import Saveable, Scannable, StorageAdapter, validate_scan
from .grpc_credentials import PemSource, channel_credentials, secure_or_plain_channel
from .grpc_subscription import GrpcSubscription

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # isort: skip

__all__ = ["GrpcStorageAdapter"]

_MIB = 1024 * 1024


class GrpcStorageAdapter(StorageAdapter):
    """Stores events in an event store server reached over gRPC at ``target``.

    ``timeout`` bounds each publish, in seconds (scans have no deadline: they may be long).
    A call that fails with ``UNAVAILABLE`` is tried up to ``attempts`` times
    with exponential backoff; that is safe because every event is sent with an id (the
    caller's, or a fresh UUID), and the server returns the stored events for a publish it
    already wrote. A scan interrupted by ``UNAVAILABLE`` resumes after the last event it
    yielded. Keepalive pings every ``keepalive_seconds`` detect dead connections.

    Raises ``UnmetWriteConditionError`` and ``InvalidInputError`` exactly as in-process
    adapters do, and ``StorageUnavailableError`` when the server cannot be reached.

    TLS: ``root_certificates`` (the CA that signed the server's certificate; the system's
    roots when omitted), and ``client_certificate`` with ``client_key`` for mutual TLS, each
    PEM bytes or a file path; or ready-made ``credentials``. Asking for TLS never falls back
    to plaintext. ``token`` is sent as ``authorization: Bearer <token>`` on every call.
    """

    def __init__(
        self,
        *,
        target: str = "127.0.0.1:50051",
        timeout: float | None = 30.0,
        attempts: int = 4,
        keepalive_seconds: float = 30.0,
        max_message_bytes: int = 32 * _MIB,
        credentials: grpc.ChannelCredentials | None = None,
        root_certificates: PemSource | None = None,
        client_certificate: PemSource | None = None,
        client_key: PemSource | None = None,
        token: str | None = None,
    ):
        self.target = target
        self.timeout = timeout
        self.attempts = max(1, attempts)
        options = _channel_options(keepalive_seconds, max_message_bytes)
        self._channel = secure_or_plain_channel(
            target,
            channel_credentials(
                credentials=credentials,
                root_certificates=root_certificates,
                client_certificate=client_certificate,
                client_key=client_key,
            ),
            token,
            options,
        )
        self._stub = event_store_pb2_grpc.EventStoreStub(self._channel)

    def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        request = publish_request(target, events, conditions)
        delay = 0.05
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._stub.Publish(request, timeout=self.timeout)
            except grpc.RpcError as error:
                if _code(error) == grpc.StatusCode.UNAVAILABLE and attempt < self.attempts:
                    time.sleep(delay * (1 + random.random()))
                    delay *= 4
                    continue
                raise _documented_error(error) from None
            return [stored_event_from_wire(event) for event in response.events]
        raise AssertionError("unreachable: the last attempt returns or raises")

    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
    ) -> Iterator[StoredEvent]:
        validate_scan(target, after_sequence_number)
        return self._stream(target, after_sequence_number)

    def _stream(self, target: Scannable, after: int | None) -> Iterator[StoredEvent]:
        delay = 0.05
        attempt = 1
        while True:
            request = event_store_pb2.ScanRequest(target=target_to_wire(target))
            if after is not None:
                request.after_sequence_number = after
            call = self._stub.Scan(request)
            try:
                # gRPC hands over one message at a time as it is read: memory holds a
                # message's batch, and an abandoned iteration cancels the call below.
                for response in call:
                    attempt, delay = 1, 0.05
                    for wire_event in response.events:
                        event = stored_event_from_wire(wire_event)
                        after = event.sequence_number
                        yield event
                return
            except grpc.RpcError as error:
                if _code(error) == grpc.StatusCode.UNAVAILABLE and attempt < self.attempts:
                    attempt += 1
                    time.sleep(delay * (1 + random.random()))
                    delay *= 4
                    continue
                raise _documented_error(error) from None
            finally:
                call.cancel()  # type: ignore[no-untyped-call]  # untyped in grpc-stubs

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        heartbeat_interval: float | None = None,
    ) -> Subscription:
        """Follow ``target`` through the server; see ``StorageAdapter.subscribe``.

        The subscription reconnects by itself after a dropped connection or a server
        restart and resumes after its checkpoint. ``heartbeat_interval`` asks the server
        for a heartbeat after that many idle seconds (the server's default otherwise).
        """
        validate_scan(target, None)
        return GrpcSubscription(
            stub=self._stub,
            target=target,
            after_sequence_number=resolve_start(after_sequence_number, from_end),
            heartbeat_interval=heartbeat_interval,
            raise_error=_documented_error,
        )

    def close(self) -> None:
        """Close the channel; calls in flight end with ``CANCELLED``."""
        self._channel.close()


def _channel_options(keepalive_seconds: float, max_message_bytes: int) -> list[tuple[str, int]]:
    """The client channel's options: message sizes and keepalive pings."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", int(keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def publish_request(
    target: Saveable, events: Sequence[NewEvent], conditions: Set[WriteCondition]
) -> event_store_pb2.PublishRequest:
    """The ``Publish`` request for a publish, validated here exactly as in process.

    So bad input fails identically and never travels (the server checks again, for
    clients in other languages). Every event gets an id, which makes retries safe.
    """
    stream = validate_target(target)  # first, as in process: the same error comes first
    pending = prepare_events(events)
    return event_store_pb2.PublishRequest(
        target=stream_to_wire(stream),
        events=[pending_event_to_wire(event) for event in pending],
        conditions=[condition_to_wire(condition) for condition in conditions],
    )


def _code(error: grpc.RpcError) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    return code() if callable(code) else None


def _details_of(error: grpc.RpcError) -> list[any_pb2.Any]:
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        return []
    return list(status.details) if status is not None else []


def _documented_error(error: grpc.RpcError) -> Exception:
    """The exception the documented API raises for a failed call."""
    code = _code(error)
    details = getattr(error, "details", None)
    message = str(details() if callable(details) else error)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        failure = conditions_pb2.WriteConditionFailure()
        for packed in _details_of(error):
            if packed.Unpack(failure):
                return condition_failure_from_wire(message, failure)
        return condition_failure_from_wire(message, failure)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        bad_request = error_details_pb2.BadRequest()
        for packed in _details_of(error):
            if packed.Unpack(bad_request):
                return bad_request_from_wire(message, bad_request)
        return bad_request_from_wire(message, None)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return InvalidInputError("request", f"exceeds a server limit ({message})")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return StorageUnavailableError(f"event store at the server is unavailable: {message}")
    return error
