"""The ``logicblocks.event.v1.EventStore`` service: a thin translation to a storage adapter.

The service awaits the engine's asynchronous face (``AsyncRecordStorage``): PostgreSQL
answers in the event loop itself, other engines on a bounded thread pool, so the loop never
blocks on storage. Scans read one page at a time and await each write, so
a slow reader makes the server wait (HTTP/2 flow control) instead of buffering, and a
reader that goes away cancels the handler, which drops the page it holds. A page is
bounded by bytes as well as by count (``page_bytes`` of payload, one event at least), and
scans in progress are capped per server and per connection, so stalled readers hold a
bounded amount of memory whatever the events' size.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import grpc

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.store.start import After
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2

from .arguments import (
    DEFAULT_HEARTBEAT_SECONDS,
    publish_arguments,
    scan_arguments,
    subscribe_arguments,
)
from .limits import DEFAULT_LIMITS, Limits, ScanSlots, SubscriptionSlots
from .listing import ListingService
from .log_tail import LogTail
from .publishing import describe_publish
from .status import status_for, storage_failure
from .subscriptions import CaughtUp, Events, PageReader, follow
from .wire import publish_response

__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "DEFAULT_MESSAGE_BYTES",
    "DEFAULT_PAGE_BYTES",
    "DEFAULT_PAGE_SIZE",
    "EventStoreServicer",
    "add_to_server",
]

_log = logging.getLogger("logicblocks.event.server")

_T = TypeVar("_T")

# Events read from storage per page of a scan or subscription, and their payload bytes
# (one event at least): the most one reader holds at once.
DEFAULT_PAGE_SIZE = 500
DEFAULT_PAGE_BYTES = 1024 * 1024
# A scan response is closed once it holds this many payload bytes (or a page ends), to keep
# messages well under the clients' receive limits while carrying many small events each.
DEFAULT_MESSAGE_BYTES = 1024 * 1024


class EventStoreServicer(ListingService, event_store_pb2_grpc.EventStoreServicer):
    """Serves ``Publish``, ``Scan`` and ``Subscribe`` from a ``RecordStorageAdapter``, and
    the listings (``ListingService``) from its index.

    ``on_storage_error``, if given, is told the kind (``storage_failure``) of each storage
    failure that ends a call. ``subscriptions``: the slots live subscriptions take (made
    from ``limits`` when not given).
    """

    def __init__(
        self,
        storage: AsyncRecordStorage,
        tail: LogTail,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_bytes: int = DEFAULT_PAGE_BYTES,
        message_bytes: int = DEFAULT_MESSAGE_BYTES,
        limits: Limits = DEFAULT_LIMITS,
        on_storage_error: Callable[[str], None] | None = None,
        subscriptions: SubscriptionSlots | None = None,
    ):
        self._storage = storage
        self._on_storage_error = on_storage_error
        self._limits = limits
        # Shared with the HTTP face when given, so --max-subscriptions bounds both.
        self._subscriptions = subscriptions or SubscriptionSlots(limits)
        self._scans = ScanSlots(limits)
        self._page_bytes = page_bytes
        self._tail = tail
        self._page_size = page_size
        self._message_bytes = message_bytes

    def _status(self, error: Exception, *, method: str) -> grpc.Status:
        """``status_for(error)``, telling ``on_storage_error`` of a storage failure."""
        failure = storage_failure(error)
        if failure is not None and self._on_storage_error is not None:
            self._on_storage_error(failure)
        return status_for(error, method=method)

    async def Publish(
        self,
        request: event_store_pb2.PublishRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.PublishRequest, event_store_pb2.PublishResponse
        ],
    ) -> event_store_pb2.PublishResponse:
        """Validate the request (one stream's publish or several streams'), write it through
        the storage, return a receipt per event."""
        started = time.monotonic()
        try:
            writes, conditions = publish_arguments(request, self._limits)
            records = await self._storage.write_streams(writes=writes, conditions=conditions)
        except Exception as error:
            status = self._status(error, method="Publish")
            category, stream, events = describe_publish(request)
            _log.info(
                "event=publish_rejected method=Publish peer=%s code=%s category=%s stream=%s "
                "events=%d",
                context.peer(),
                status.code.name,
                category,
                stream,
                events,
            )
            await context.abort(status.code, status.details, status.trailing_metadata)
        if _log.isEnabledFor(logging.DEBUG):
            category, stream, _ = describe_publish(request)
            _log.debug(
                "event=published category=%s stream=%s events=%d ms=%.1f",
                category,
                stream,
                len(records),
                (time.monotonic() - started) * 1000,
            )
        # Receipts, not the stored events: the client has the names and payloads already,
        # and an answer repeating them could exceed its receive limit after the write.
        return publish_response(records)

    async def Scan(
        self,
        request: event_store_pb2.ScanRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.ScanRequest, event_store_pb2.ScanResponse
        ],
    ) -> AsyncIterator[event_store_pb2.ScanResponse]:
        """Stream the target's events page by page, awaiting the reader between messages."""
        sent = 0
        try:
            target, start, limit = scan_arguments(request, self._limits)
            # Held until the scan ends, however it ends.
            with self._scans.hold(context.peer()):
                after = await self._after(start)
                # The scan ends at the head as it was when it began, as in process: under
                # a steady stream of writes it would otherwise never end.
                bound = await self._storage.head()
                pages = PageReader(
                    self._storage,
                    target,
                    page_size=self._page_size,
                    page_bytes=self._page_bytes,
                )
                remaining = limit
                while remaining is None or remaining > 0:
                    page = await pages.read(after, remaining)
                    if not page:
                        break
                    ended = page[-1].sequence_number >= bound
                    if ended:
                        page = [event for event in page if event.sequence_number <= bound]
                    for events in self._batches(page):
                        # grpc.aio sends each yielded message before asking for the next,
                        # and the send waits for the reader's flow-control window.
                        yield event_store_pb2.ScanResponse(events=events)
                    sent += len(page)
                    if remaining is not None:
                        remaining -= len(page)
                    if ended:
                        break
                    after = page[-1].sequence_number
                    # Let the page go before reading the next: one page held at a time.
                    del page, events
        except asyncio.CancelledError:
            _log.info(
                "event=scan_cancelled method=Scan peer=%s events_sent=%d", context.peer(), sent
            )
            raise
        except Exception as error:
            await self._end_stream(context, error, method="Scan", kind="scan", sent=sent)
            return
        _log.debug("event=scanned events=%d", sent)

    # Yields SubscribeResponses already encoded, not the generated signature's messages.
    async def Subscribe(  # type: ignore[override]
        self,
        request: event_store_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.SubscribeRequest, event_store_pb2.SubscribeResponse
        ],
    ) -> AsyncIterator[bytes]:
        """Stream history, a caught-up marker, then live events and heartbeats.

        Each message is sent before the next page is read, so a slow subscriber holds at
        most one page here. When the server shuts down the stream ends with
        ``UNAVAILABLE``, which clients treat as "reconnect after your checkpoint".

        Yields each ``SubscribeResponse`` already serialized: live events are encoded once
        per batch for every subscriber handed it (``EventBatch``). ``add_to_server``
        registers the method to send them as they are.
        """
        sent = 0
        try:
            target, wanted, heartbeat_interval = subscribe_arguments(request, self._limits)
            # Held until the stream ends, however it ends.
            with self._subscriptions.hold(context.peer()):
                start = (
                    wanted if not isinstance(wanted, datetime) else After(await self._after(wanted))
                )
                _log.info(
                    "event=subscribed method=Subscribe peer=%s target=%s start=%s",
                    context.peer(),
                    target,
                    start,
                )
                async for item in follow(
                    storage=self._storage,
                    tail=self._tail,
                    target=target,
                    start=start,
                    heartbeat_interval=heartbeat_interval,
                    page_size=self._page_size,
                    page_bytes=self._page_bytes,
                ):
                    if isinstance(item, Events):
                        for message in item.events.messages(self._message_bytes):
                            yield message
                        sent += len(item.events)
                    elif isinstance(item, CaughtUp):
                        yield event_store_pb2.SubscribeResponse(
                            caught_up=event_store_pb2.SubscribeResponse.CaughtUp(
                                head=item.checkpoint if item.checkpoint >= 0 else None
                            )
                        ).SerializeToString()
                    else:
                        yield event_store_pb2.SubscribeResponse(
                            heartbeat=event_store_pb2.SubscribeResponse.Heartbeat(
                                head=item.checkpoint if item.checkpoint >= 0 else None
                            )
                        ).SerializeToString()
        except asyncio.CancelledError:
            _log.info(
                "event=subscription_cancelled method=Subscribe peer=%s events_sent=%d",
                context.peer(),
                sent,
            )
            raise
        except Exception as error:
            await self._end_stream(
                context, error, method="Subscribe", kind="subscription", sent=sent
            )
            return
        _log.info(
            "event=subscription_ended method=Subscribe peer=%s reason=shutdown events_sent=%d",
            context.peer(),
            sent,
        )
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down: reconnect")

    async def _after(self, start: int | datetime) -> int:
        """The sequence number a read resumes after: ``start``, or the one a time stands
        for (just before the first event observed at or after it; the head if none)."""
        if isinstance(start, datetime):
            return await self._storage.after_sequence_number_since(start)
        return start

    async def _end_stream(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        error: Exception,
        *,
        method: str,
        kind: str,
        sent: int,
    ) -> None:
        """End a server stream that failed: with its status, unless the reader is gone."""
        if context.cancelled():
            # The reader went away mid-write: nothing to tell it.
            _log.info(
                "event=%s_cancelled method=%s peer=%s events_sent=%d",
                kind,
                method,
                context.peer(),
                sent,
            )
            return
        status = self._status(error, method=method)
        _log.info(
            "event=%s_failed method=%s peer=%s code=%s events_sent=%d",
            kind,
            method,
            context.peer(),
            status.code.name,
            sent,
        )
        await context.abort(status.code, status.details, status.trailing_metadata)

    def _batches(
        self, events: Sequence[events_pb2.StoredEvent]
    ) -> list[list[events_pb2.StoredEvent]]:
        """The events in groups of about ``message_bytes`` of payload each."""
        batches: list[list[events_pb2.StoredEvent]] = []
        current: list[events_pb2.StoredEvent] = []
        size = 0
        for event in events:
            current.append(event)
            size += len(event.payload)
            if size >= self._message_bytes:
                batches.append(current)
                current, size = [], 0
        if current:
            batches.append(current)
        return batches


def _as_encoded(message: bytes) -> bytes:
    return message


def add_to_server(servicer: EventStoreServicer, server: grpc.aio.Server) -> None:
    """Serve ``servicer`` on ``server``: the generated registration, with ``Subscribe``
    registered again to send the bytes it yields as they are (a later registration of a
    method replaces an earlier one)."""
    event_store_pb2_grpc.add_EventStoreServicer_to_server(servicer, server)
    # In grpc.aio.Server since grpcio 1.62; the type stubs predate it.
    server.add_registered_method_handlers(  # type: ignore[attr-defined]
        event_store_pb2.DESCRIPTOR.services_by_name["EventStore"].full_name,
        {
            "Subscribe": grpc.unary_stream_rpc_method_handler(
                servicer.Subscribe,
                request_deserializer=event_store_pb2.SubscribeRequest.FromString,
                response_serializer=_as_encoded,
            )
        },
    )
