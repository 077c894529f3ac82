"""The gRPC client for asyncio programs: publish, scan and subscribe without threads.

``AsyncGrpcStorageAdapter(target="host:port")`` talks to an event store server with
``grpc.aio`` on the caller's event loop. It validates input, maps errors and resumes
subscriptions exactly as the blocking ``GrpcStorageAdapter`` does (the same functions do
it), so the two behave alike; only the waiting is ``await`` instead of blocking.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence, Set
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import grpc

from logicblocks.event.store.adapters.base import Saveable, Scannable, validate_scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.store.start import ReadStart
from logicblocks.event.store.writes import StreamWrite
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.v1 import consumer_groups_pb2_grpc, event_store_pb2, event_store_pb2_grpc

from .client import _channel_options, check_client_options
from .credentials import PemSource, channel_credentials, secure_or_plain_aio_channel, token_metadata
from .errors import RESUMED_SCAN_CODES, RETRIED_PUBLISH_CODES, documented_error
from .groups_client import AsyncGrpcGroupMethods
from .publish_request import PreparedPublish, publish_request, writes_request
from .retry import Backoff
from .starts import Since, scan_request, scan_start, subscribe_start
from .subscription import SubscriptionProgress
from .wire import stored_event_from_wire

__all__ = ["AsyncGrpcStorageAdapter", "AsyncGrpcSubscription"]

_MIB = 1024 * 1024


class AsyncGrpcSubscription(AsyncIterator[StoredEvent]):
    """Follows a target through the ``Subscribe`` RPC, for ``async for``.

    After a dropped connection it reconnects with exponential backoff (with jitter) and
    resumes after ``checkpoint``: events are never yielded twice, none are skipped.
    ``reconnects`` counts the reconnections. The stream opens at ``start()`` (called by
    ``async with`` and by the first ``__anext__``); with ``from_end=True`` the end is the
    head when ``start()`` returns, so start before publishing what you expect to see.
    ``close()`` (or ``aclose()``) ends the iteration.
    """

    def __init__(
        self,
        *,
        stub: event_store_pb2_grpc.EventStoreStub,
        target: Scannable,
        start: ReadStart | Since,
        heartbeat_interval: float | None,
        metadata: tuple[tuple[str, str], ...] = (),
        max_reconnect_seconds: float | None = None,
    ):
        self._stub = stub
        self._metadata = metadata
        self._progress = SubscriptionProgress(
            target=target,
            start=start,
            heartbeat_interval=heartbeat_interval,
            max_reconnect_seconds=max_reconnect_seconds,
        )
        self._call: Any = None  # a grpc.aio.UnaryStreamCall (untyped read() in grpc-stubs)
        self._closed = asyncio.Event()
        self._started = False
        self.reconnects = 0

    @property
    def checkpoint(self) -> int:
        """Everything of the target up to this sequence number was delivered (-1: nothing)."""
        return self._progress.checkpoint

    @property
    def caught_up(self) -> bool:
        """Whether the history has been delivered and the subscription is live."""
        return self._progress.caught_up

    async def start(self) -> None:
        """Open the stream; with ``from_end``, return once the end is fixed (caught up)."""
        if self._started:
            return
        self._started = True
        if not self._progress.from_end:
            return
        while not self._progress.caught_up and not self._closed.is_set():
            try:
                response = await self._read()
            except grpc.RpcError as error:
                self._call = None
                raise documented_error(error) from None
            if response is not None:
                self._progress.receive(response)
            elif not self._closed.is_set():
                # Ended before catching up: back off before reconnecting, as in __anext__.
                await self._pause(self._progress.next_delay())

    def close(self) -> None:
        """Stop the subscription: a waiting ``__anext__`` ends the iteration."""
        self._closed.set()
        if self._call is not None:
            self._call.cancel()

    async def aclose(self) -> None:
        """Stop the subscription."""
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StoredEvent:
        await self.start()
        while not self._closed.is_set():
            event = self._progress.pop()
            if event is not None:
                return event
            try:
                response = await self._read()
            except grpc.RpcError as error:
                self._call = None
                if self._closed.is_set():
                    break
                delay = self._progress.retry_delay(error, documented_error)
                self.reconnects += 1
                await self._pause(delay)
                continue
            if response is not None:
                self._progress.receive(response)
            elif not self._closed.is_set():
                # The server (or a proxy) ended the stream: reconnect, backing off.
                self.reconnects += 1
                await self._pause(self._progress.next_delay())
        raise StopAsyncIteration

    async def _read(self) -> event_store_pb2.SubscribeResponse | None:
        """The next response; ``None`` when the stream ended or was cancelled by close()."""
        if self._call is None:
            try:
                self._call = self._stub.Subscribe(self._progress.request(), metadata=self._metadata)
            except (grpc.aio.UsageError, ValueError):
                # The adapter's channel was closed under the subscription: nothing more
                # can come, so the iteration ends as if closed.
                self._closed.set()
                return None
        call = self._call
        try:
            response = await call.read()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or not task.cancelling():
                # The call was cancelled, not this task: by close(), or by the adapter
                # closing its channel. Either way nothing more can come.
                self._closed.set()
                self._call = None
                return None
            call.cancel()
            raise
        if response is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing in grpc-stubs
            self._call = None
            return None
        result: event_store_pb2.SubscribeResponse = response
        return result

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` before reconnecting, or less if the subscription is closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncGrpcStorageAdapter(AsyncGrpcGroupMethods):
    """Stores events in an event store server over gRPC, for asyncio programs.

    The asyncio counterpart of ``GrpcStorageAdapter``, with the same arguments and the
    same behaviour: ``timeout`` bounds each publish; a publish failing with
    ``UNAVAILABLE`` or ``DEADLINE_EXCEEDED``, or a scan failing with ``UNAVAILABLE``, is
    tried up to ``attempts`` times with backoff (publishes are safe to retry: every event
    carries an id); the same ``EventStoreError``s are raised for the same outcomes,
    ``PublishOutcomeUnknownError`` included (see ``GrpcStorageAdapter``). Make it inside
    the event loop that uses it; ``await close()`` (or ``async with``) when done.
    TLS (``root_certificates``, ``client_certificate``/``client_key`` or ``credentials``)
    and ``token`` work as for ``GrpcStorageAdapter``. The consumer group methods
    (``AsyncGrpcGroupMethods``) are coroutines; ``await consume_group(...)`` joins and
    returns a consumer for ``async for``.
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
        tls = channel_credentials(
            credentials=credentials,
            root_certificates=root_certificates,
            client_certificate=client_certificate,
            client_key=client_key,
        )
        self._channel = secure_or_plain_aio_channel(target, tls, options)
        self._metadata = token_metadata(token)
        self._stub = event_store_pb2_grpc.EventStoreStub(self._channel)
        self._groups = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(self._channel)

    async def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish ``events`` to the stream ``target`` if ``conditions`` hold."""
        return await self._publish(publish_request(target, events, conditions))

    async def publish(
        self,
        *,
        writes: Sequence[StreamWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish into several streams atomically, as ``GrpcStorageAdapter.publish``."""
        return await self._publish(writes_request(writes, conditions))

    async def _publish(self, publish: PreparedPublish) -> Sequence[StoredEvent]:
        backoff = Backoff.for_calls(self.attempts)
        while True:
            try:
                response = await self._stub.Publish(
                    publish.request, timeout=self.timeout, metadata=self._metadata
                )
            except grpc.RpcError as error:
                if error.code() not in RETRIED_PUBLISH_CODES or backoff.exhausted:
                    raise publish.error(error, after_uncertain=backoff.attempt > 1) from None
                await asyncio.sleep(backoff.next_delay())
                continue
            except (grpc.aio.UsageError, ValueError):
                # grpc refuses a call on a closed channel before sending anything.
                raise publish.closed_error(first_attempt=backoff.attempt == 1) from None
            return publish.stored_events(response)

    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        since: datetime | None = None,
    ) -> AsyncIterator[StoredEvent]:
        """The events of ``target`` after ``after_sequence_number`` (or from the first
        event observed at or after ``since``), in sequence order.

        Streams: memory holds one message's batch at a time. Bad input raises here, not
        at the first ``__anext__``.
        """
        validate_scannable(target)
        return self._stream(target, scan_start(after_sequence_number, since))

    async def _stream(self, target: Scannable, start: int | Since) -> AsyncIterator[StoredEvent]:
        backoff = Backoff.for_calls(self.attempts)
        while True:
            request = scan_request(target, start)
            try:
                call = self._stub.Scan(request, metadata=self._metadata)
            except (grpc.aio.UsageError, ValueError):
                # grpc refuses a call on a closed channel before sending anything.
                raise StorageUnavailableError("the adapter is closed") from None
            try:
                async for response in call:
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
                await asyncio.sleep(backoff.next_delay())
            finally:
                call.cancel()

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
        heartbeat_interval: float | None = None,
        max_reconnect_seconds: float | None = None,
    ) -> AsyncGrpcSubscription:
        """Follow ``target``: its events after the start, then each new one as it commits.

        From the beginning by default, after ``after_sequence_number`` when given, from
        the current end with ``from_end=True`` (fixed when the subscription starts: use
        ``async with`` or ``await subscription.start()``), from the first event observed
        at or after ``since`` when given. Reconnects by itself and
        resumes after its checkpoint; ``heartbeat_interval`` asks the server for a
        heartbeat after that many idle seconds. Reconnections that keep failing are
        logged; with ``max_reconnect_seconds`` the subscription raises
        ``StorageUnavailableError`` once they have failed for that long without a response
        (``None``, the default: it keeps trying).
        """
        validate_scannable(target)
        return AsyncGrpcSubscription(
            stub=self._stub,
            target=target,
            start=subscribe_start(after_sequence_number, from_end, since),
            heartbeat_interval=heartbeat_interval,
            metadata=self._metadata,
            max_reconnect_seconds=max_reconnect_seconds,
        )

    async def close(self) -> None:
        """Close the channel; calls in flight end with ``CANCELLED``."""
        await self._channel.close(None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
