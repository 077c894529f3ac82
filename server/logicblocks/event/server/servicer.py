"""The ``logicblocks.event.v1.EventStore`` service: a thin translation to a storage adapter.

Storage adapters are synchronous; every call into one runs in a bounded thread pool so the
event loop never blocks on storage. Scans read one page at a time and await each write, so
a slow reader makes the server wait (HTTP/2 flow control) instead of buffering, and a
reader that goes away cancels the handler, which drops the page it holds.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import TypeVar

import grpc

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.adapters import RecordStorageAdapter
from logicblocks.event.store.adapters.base import validate_scan
from logicblocks.event.store.records import EventRecord, validate_target
from logicblocks.event.store.wire import (
    condition_from_wire,
    new_events_from_wire,
    record_to_wire,
    stream_from_wire,
    target_from_wire,
)
from logicblocks.event.types import identifier
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc

from .status import status_for

__all__ = ["DEFAULT_MESSAGE_BYTES", "DEFAULT_PAGE_SIZE", "EventStoreServicer"]

_log = logging.getLogger("logicblocks.event.server")

_T = TypeVar("_T")

# Events read from storage per page of a scan: the most one scan holds at once.
DEFAULT_PAGE_SIZE = 500
# A scan response is closed once it holds this many payload bytes (or a page ends), to keep
# messages well under the clients' receive limits while carrying many small events each.
DEFAULT_MESSAGE_BYTES = 1024 * 1024


class EventStoreServicer(event_store_pb2_grpc.EventStoreServicer):
    """Serves ``Publish`` and ``Scan`` from a ``RecordStorageAdapter``."""

    def __init__(
        self,
        adapter: RecordStorageAdapter,
        executor: Executor,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        message_bytes: int = DEFAULT_MESSAGE_BYTES,
    ):
        self._adapter = adapter
        self._executor = executor
        self._page_size = page_size
        self._message_bytes = message_bytes

    def _in_executor(self, work: Callable[[], _T]) -> Awaitable[_T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def Publish(
        self,
        request: event_store_pb2.PublishRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.PublishRequest, event_store_pb2.PublishResponse
        ],
    ) -> event_store_pb2.PublishResponse:
        """Validate the request, write it through the adapter, return the stored events."""
        started = time.monotonic()
        try:
            target = validate_target(stream_from_wire(request.target))
            events = new_events_from_wire(request.events)
            conditions = frozenset(
                condition_from_wire(f"conditions[{index}]", condition)
                for index, condition in enumerate(request.conditions)
            )
            records = await self._in_executor(
                lambda: self._adapter.write_records(
                    target=target, events=events, conditions=conditions
                )
            )
        except Exception as error:
            status = status_for(error, method="Publish")
            _log.info(
                "event=publish_rejected code=%s category=%r stream=%r events=%d",
                status.code.name,
                request.target.category,
                request.target.stream,
                len(request.events),
            )
            await context.abort(status.code, status.details, status.trailing_metadata)
        _log.debug(
            "event=published category=%r stream=%r events=%d ms=%.1f",
            target.category,
            target.stream,
            len(records),
            (time.monotonic() - started) * 1000,
        )
        return event_store_pb2.PublishResponse(events=[record_to_wire(r) for r in records])

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
            target, after, limit = self._scan_arguments(request)
            remaining = limit
            while remaining is None or remaining > 0:
                page_size = (
                    self._page_size if remaining is None else min(self._page_size, remaining)
                )
                page = await self._read_page(target, after, page_size)
                for message in self._messages(page):
                    # grpc.aio sends each yielded message before asking for the next, and
                    # the send waits for the reader's flow-control window: back-pressure.
                    yield message
                sent += len(page)
                if remaining is not None:
                    remaining -= len(page)
                if len(page) < page_size:
                    break
                after = page[-1].sequence_number
        except asyncio.CancelledError:
            _log.info("event=scan_cancelled events_sent=%d", sent)
            raise
        except Exception as error:
            if context.cancelled():
                # The reader went away mid-write: nothing to tell it.
                _log.info("event=scan_cancelled events_sent=%d", sent)
                return
            status = status_for(error, method="Scan")
            _log.info("event=scan_failed code=%s events_sent=%d", status.code.name, sent)
            await context.abort(status.code, status.details, status.trailing_metadata)
        _log.debug("event=scanned events=%d", sent)

    async def Subscribe(
        self,
        request: event_store_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.SubscribeRequest, event_store_pb2.SubscribeResponse
        ],
    ) -> AsyncIterator[event_store_pb2.SubscribeResponse]:
        """Not served yet: ends with ``UNIMPLEMENTED``."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Subscribe is not implemented yet")
        # Unreachable (abort raises); makes this an async generator like a streaming handler.
        yield event_store_pb2.SubscribeResponse()

    @staticmethod
    def _scan_arguments(
        request: event_store_pb2.ScanRequest,
    ) -> tuple[identifier.Log | identifier.Category | identifier.Stream, int | None, int | None]:
        if not request.HasField("target"):
            raise InvalidInputError("target", "must be set to one of log, category or stream")
        target = target_from_wire(request.target)
        after = request.after_sequence_number if request.HasField("after_sequence_number") else None
        validate_scan(target, after)
        limit = request.limit if request.HasField("limit") else None
        if limit is not None and limit < 0:
            raise InvalidInputError("limit", "must be an integer >= 0")
        return target, after, limit

    async def _read_page(
        self,
        target: identifier.Log | identifier.Category | identifier.Stream,
        after: int | None,
        size: int,
    ) -> Sequence[EventRecord]:
        return await self._in_executor(
            lambda: list(
                self._adapter.read_records(target=target, after_sequence_number=after, limit=size)
            )
        )

    def _messages(self, page: Sequence[EventRecord]) -> list[event_store_pb2.ScanResponse]:
        messages: list[event_store_pb2.ScanResponse] = []
        current = event_store_pb2.ScanResponse()
        size = 0
        for record in page:
            current.events.append(record_to_wire(record))
            size += len(record.payload)
            if size >= self._message_bytes:
                messages.append(current)
                current, size = event_store_pb2.ScanResponse(), 0
        if current.events:
            messages.append(current)
        return messages
