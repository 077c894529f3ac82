"""The gRPC adapter: the documented API in front of an event store server.

``EventStore(GrpcStorageAdapter(target="host:port"))`` behaves as ``EventStore`` does over
any local adapter: the same results, the same exceptions, iteration that streams.
"""

import time
from collections.abc import Iterator, Sequence, Set
from datetime import datetime

import grpc

from logicblocks.event.store.adapters.base import (
    Saveable,
    Scannable,
    StorageAdapter,
    validate_scannable,
)
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import ConfigurationError, StorageUnavailableError
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.store.writes import StreamWrite
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.v1 import consumer_groups_pb2_grpc, event_store_pb2_grpc

from .credentials import PemSource, channel_credentials, secure_or_plain_channel, token_metadata
from .errors import RESUMED_SCAN_CODES, RETRIED_PUBLISH_CODES, documented_error
from .groups_client import GrpcGroupMethods
from .publish_request import PreparedPublish, publish_request, writes_request
from .retry import Backoff
from .starts import Since, scan_request, scan_start, subscribe_start
from .subscription import GrpcSubscription
from .wire import stored_event_from_wire

__all__ = [
    "GrpcStorageAdapter",
    "PreparedPublish",
    "check_client_options",
    "publish_request",
    "writes_request",
]

_MIB = 1024 * 1024


class GrpcStorageAdapter(GrpcGroupMethods, StorageAdapter):
    """Stores events in an event store server reached over gRPC at ``target``.

    ``timeout`` bounds each publish, in seconds (scans have no deadline: they may be long).
    A publish that fails with ``UNAVAILABLE`` or ``DEADLINE_EXCEEDED`` is tried up to
    ``attempts`` times with exponential backoff, a scan that fails with ``UNAVAILABLE``
    likewise (resuming after the last event it yielded). Retrying a publish is safe: every
    event is sent with an id (the caller's, or a fresh UUID), and the server answers a
    publish it already stored with the stored events' receipts, writing nothing twice.
    Keepalive pings every ``keepalive_seconds`` detect dead connections.
    ``max_message_bytes`` bounds each message received (not the publishes sent: the
    server's ``max_request_bytes`` does that).

    A publish's answer holds one small receipt per event (id, position, sequence number,
    timestamps); the returned ``StoredEvent``s are rebuilt from it and from the events
    passed in, whose payload mappings they share (not copies).

    Errors are ``EventStoreError``s. ``UnmetWriteConditionError`` and
    ``InvalidInputError`` are raised exactly as in-process adapters raise them, and like
    ``AuthenticationError``, ``PermissionDeniedError`` and ``LimitExceededError`` they
    mean that nothing was written. A publish whose outcome is unknown once the attempts
    are spent (a deadline, a lost connection, a server error) raises
    ``PublishOutcomeUnknownError``: retry it with its ``events``, which carry their ids.
    A read that cannot reach the server raises ``StorageUnavailableError``. Mistakes in
    these arguments raise ``ConfigurationError``.

    Consumer groups (``GrpcGroupMethods``) are served by the server's
    ``ConsumerGroupService``; group reads, creates and updates are retried as scans are.

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
        check_client_options(timeout, attempts, keepalive_seconds, max_message_bytes)
        self.target = target
        self.timeout = timeout
        self.attempts = attempts
        options = _channel_options(keepalive_seconds, max_message_bytes)
        self._channel = secure_or_plain_channel(
            target,
            channel_credentials(
                credentials=credentials,
                root_certificates=root_certificates,
                client_certificate=client_certificate,
                client_key=client_key,
            ),
            options,
        )
        self._metadata = token_metadata(token)
        self._stub = event_store_pb2_grpc.EventStoreStub(self._channel)
        self._groups = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(self._channel)

    def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        return self._publish(publish_request(target, events, conditions))

    def publish(
        self,
        *,
        writes: Sequence[StreamWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish into several streams atomically; see ``StorageAdapter.publish``.

        Retried as ``save`` is. When the outcome stays unknown,
        ``PublishOutcomeUnknownError.target`` holds the writes as sent, each event with
        its id: ``publish(writes=error.target, conditions=...)`` settles it.
        """
        return self._publish(writes_request(writes, conditions))

    def _publish(self, publish: PreparedPublish) -> Sequence[StoredEvent]:
        backoff = Backoff.for_calls(self.attempts)
        while True:
            try:
                response = self._stub.Publish(
                    publish.request, timeout=self.timeout, metadata=self._metadata
                )
            except grpc.RpcError as error:
                if error.code() not in RETRIED_PUBLISH_CODES or backoff.exhausted:
                    raise publish.error(error, after_uncertain=backoff.attempt > 1) from None
                time.sleep(backoff.next_delay())
                continue
            except ValueError:
                # grpc refuses a call on a closed channel before sending anything.
                raise publish.closed_error(first_attempt=backoff.attempt == 1) from None
            return publish.stored_events(response)

    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[StoredEvent]:
        validate_scannable(target)
        return self._stream(target, scan_start(after_sequence_number, since))

    def _stream(self, target: Scannable, start: int | Since) -> Iterator[StoredEvent]:
        backoff = Backoff.for_calls(self.attempts)
        while True:
            request = scan_request(target, start)
            try:
                call = self._stub.Scan(request, metadata=self._metadata)
            except ValueError:
                # grpc refuses a call on a closed channel before sending anything.
                raise StorageUnavailableError("the adapter is closed") from None
            try:
                # gRPC hands over one message at a time as it is read: memory holds a
                # message's batch, and an abandoned iteration cancels the call below.
                for response in call:
                    backoff.reset()  # the call works: a later failure starts afresh
                    for wire_event in response.events:
                        event = stored_event_from_wire(wire_event)
                        # A resumed scan continues after it, whatever the start was.
                        start = event.sequence_number
                        yield event
                return
            except grpc.RpcError as error:
                if error.code() not in RESUMED_SCAN_CODES or backoff.exhausted:
                    raise documented_error(error) from None
                time.sleep(backoff.next_delay())
            finally:
                call.cancel()  # type: ignore[no-untyped-call]  # untyped in grpc-stubs

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
        heartbeat_interval: float | None = None,
        max_reconnect_seconds: float | None = None,
    ) -> Subscription:
        """Follow ``target`` through the server; see ``StorageAdapter.subscribe``.

        The subscription reconnects by itself after a dropped connection or a server
        restart and resumes after its checkpoint. ``heartbeat_interval`` asks the server
        for a heartbeat after that many idle seconds (the server's default otherwise).
        Reconnections that keep failing are logged; with ``max_reconnect_seconds`` the
        subscription raises ``StorageUnavailableError`` once they have failed for that long
        without a response (``None``, the default: it keeps trying).
        """
        validate_scannable(target)
        start = subscribe_start(after_sequence_number, from_end, since)
        return GrpcSubscription(
            stub=self._stub,
            target=target,
            start=start,
            heartbeat_interval=heartbeat_interval,
            raise_error=documented_error,
            metadata=self._metadata,
            max_reconnect_seconds=max_reconnect_seconds,
        )

    def close(self) -> None:
        """Close the channel; calls in flight end with ``CANCELLED``."""
        self._channel.close()


def check_client_options(
    timeout: float | None, attempts: int, keepalive_seconds: float, max_message_bytes: int
) -> None:
    """Refuse client arguments no call could work with, before a channel is made."""
    if timeout is not None and not timeout > 0:
        raise ConfigurationError(f"timeout must be a number of seconds > 0 or None, not {timeout}")
    if attempts < 1:
        raise ConfigurationError(f"attempts must be at least 1, not {attempts}")
    if not keepalive_seconds > 0:
        raise ConfigurationError(f"keepalive_seconds must be > 0, not {keepalive_seconds}")
    if max_message_bytes < 1:
        raise ConfigurationError(f"max_message_bytes must be at least 1, not {max_message_bytes}")


def _channel_options(keepalive_seconds: float, max_message_bytes: int) -> list[tuple[str, int]]:
    """The client channel's options: the receive limit and keepalive pings.

    ``max_message_bytes`` bounds what the client receives (one message of a scan or
    subscription). Sends are left to the server's own request limit, which refuses a
    request too large before handling it: a publish larger than the client's receive
    limit is fine, since its answer holds receipts, not payloads.
    """
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", int(keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
