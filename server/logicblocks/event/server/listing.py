"""``ListCategories``, ``ListStreams`` and ``GetInfo``: what the store holds, a page at a time.

Thin handlers over the engine's index (``RecordStorageAdapter.list_categories``,
``list_streams`` and ``summary``): they check the request, read one page in the storage
thread pool, and translate. Page tokens are opaque to clients; inside, a token is the last
name of the page it follows, so a page costs one index range read however deep it is.
"""

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, NoReturn, TypeVar

import grpc

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.store import InvalidInputError
from logicblocks.event.transport.wire import timestamp_fields
from logicblocks.event.v1 import event_store_pb2

from .limits import Limits
from .status import status_for
from .version import version

__all__ = [
    "DEFAULT_LIST_PAGE_SIZE",
    "MAX_LIST_PAGE_SIZE",
    "ListingService",
    "decode_page_token",
    "encode_page_token",
]

_T = TypeVar("_T")

# What the proto documents: page_size unset or 0 means the default, and at most the max.
DEFAULT_LIST_PAGE_SIZE = 100
MAX_LIST_PAGE_SIZE = 1000

# A version tag, so the token's form can change without old tokens being misread.
_TOKEN_TAG = "1:"


def encode_page_token(last_name: str) -> str:
    """The token of the page after the one ending with ``last_name``."""
    text = (_TOKEN_TAG + last_name).encode("utf-8")
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> str | None:
    """The name a page token continues after; ``None`` for the empty token (the start)."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        text = ""
    if not text.startswith(_TOKEN_TAG) or len(text) == len(_TOKEN_TAG):
        raise InvalidInputError("page_token", "must be a next_page_token this service returned")
    return text[len(_TOKEN_TAG) :]


def _page_size(value: int) -> int:
    if value == 0:
        return DEFAULT_LIST_PAGE_SIZE
    if not 0 < value <= MAX_LIST_PAGE_SIZE:
        raise InvalidInputError(
            "page_size", f"must be between 0 and {MAX_LIST_PAGE_SIZE} (0: {DEFAULT_LIST_PAGE_SIZE})"
        )
    return value


class ListingService:
    """The listing RPCs of ``EventStoreServicer``, which provides the attributes below."""

    _adapter: RecordStorageAdapter
    _executor: Executor
    _limits: Limits

    def _read(self, work: Callable[[], _T]) -> Awaitable[_T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, work)

    def _status(self, error: Exception, *, method: str) -> grpc.Status:
        """The status for ``error``; the servicer also counts storage failures here."""
        return status_for(error, method=method)

    async def _fail(
        self, context: grpc.aio.ServicerContext[Any, Any], error: Exception, method: str
    ) -> NoReturn:
        status = self._status(error, method=method)
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def ListCategories(
        self,
        request: event_store_pb2.ListCategoriesRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.ListCategoriesRequest, event_store_pb2.ListCategoriesResponse
        ],
    ) -> event_store_pb2.ListCategoriesResponse:
        """One page of categories with their counts, from the engine's index."""
        try:
            size = _page_size(request.page_size)
            after = decode_page_token(request.page_token)
            # One more than the page: whether another page follows, without a second read.
            found = await self._read(
                lambda: self._adapter.list_categories(after=after, limit=size + 1)
            )
        except Exception as error:
            await self._fail(context, error, "ListCategories")
        page = found[:size]
        return event_store_pb2.ListCategoriesResponse(
            categories=[
                event_store_pb2.ListCategoriesResponse.Category(
                    category=category.category,
                    streams=category.streams,
                    events=category.events,
                    last_sequence_number=category.last_sequence_number,
                )
                for category in page
            ],
            next_page_token=encode_page_token(page[-1].category) if len(found) > size else "",
        )

    async def ListStreams(
        self,
        request: event_store_pb2.ListStreamsRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.ListStreamsRequest, event_store_pb2.ListStreamsResponse
        ],
    ) -> event_store_pb2.ListStreamsResponse:
        """One page of a category's streams, optionally by prefix, from the engine's index."""
        try:
            if not request.category:
                raise InvalidInputError("category", "must be a non-empty string")
            self._limits.check_name("category", request.category)
            self._limits.check_name("prefix", request.prefix)
            size = _page_size(request.page_size)
            after = decode_page_token(request.page_token)
            found = await self._read(
                lambda: self._adapter.list_streams(
                    category=request.category, prefix=request.prefix, after=after, limit=size + 1
                )
            )
        except Exception as error:
            await self._fail(context, error, "ListStreams")
        page = found[:size]
        return event_store_pb2.ListStreamsResponse(
            streams=[
                event_store_pb2.ListStreamsResponse.Stream(
                    stream=stream.stream,
                    events=stream.events,
                    last_position=stream.last_position,
                    last_sequence_number=stream.last_sequence_number,
                    last_observed_at=timestamp_fields(stream.last_observed_at),
                )
                for stream in page
            ],
            next_page_token=encode_page_token(page[-1].stream) if len(found) > size else "",
        )

    async def GetInfo(
        self,
        request: event_store_pb2.GetInfoRequest,
        context: grpc.aio.ServicerContext[
            event_store_pb2.GetInfoRequest, event_store_pb2.GetInfoResponse
        ],
    ) -> event_store_pb2.GetInfoResponse:
        """The server's version, the storage kind, the head and the counts."""
        try:
            summary = await self._read(self._adapter.summary)
        except Exception as error:
            await self._fail(context, error, "GetInfo")
        return event_store_pb2.GetInfoResponse(
            server_version=version(),
            storage=summary.storage,
            head=summary.head if summary.head >= 0 else None,
            categories=summary.categories,
            streams=summary.streams,
            events=summary.events,
        )
