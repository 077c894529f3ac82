"""``ListCategories``, ``ListStreams`` and ``GetInfo``: what the store holds, a page at a time.

Thin handlers over the engine's index (``RecordStorageAdapter.list_categories``,
``list_streams`` and ``summary``): they check the request, read one page in the storage
thread pool, and translate. Page tokens are opaque to clients; inside, a token is the last
name of the page it follows, so a page costs one index range read however deep it is.
"""

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import grpc

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
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
    "categories_page_arguments",
    "decode_page_token",
    "encode_page_token",
    "list_page_size",
    "next_page",
    "streams_page_arguments",
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


def list_page_size(value: object) -> int:
    """The page size a listing asked for (0: the default), checked."""
    if value == 0:
        return DEFAULT_LIST_PAGE_SIZE
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_LIST_PAGE_SIZE:
        raise InvalidInputError(
            "page_size", f"must be between 0 and {MAX_LIST_PAGE_SIZE} (0: {DEFAULT_LIST_PAGE_SIZE})"
        )
    return value


def categories_page_arguments(page_size: object, page_token: str) -> tuple[int, str | None]:
    """A category listing's page size and the name it continues after, checked."""
    return list_page_size(page_size), decode_page_token(page_token)


def streams_page_arguments(
    limits: Limits, category: str, prefix: str, page_size: object, page_token: str
) -> tuple[int, str | None]:
    """A stream listing's page size and the name it continues after, its names checked."""
    if not category:
        raise InvalidInputError("category", "must be a non-empty string")
    limits.check_name("category", category)
    limits.check_name("prefix", prefix)
    return list_page_size(page_size), decode_page_token(page_token)


def next_page(found: Sequence[_T], size: int, name: Callable[[_T], str]) -> tuple[list[_T], str]:
    """The page of ``size`` in ``found`` (read with one more than ``size``: whether another
    page follows, without a second read) and the next page's token ("" on the last)."""
    page = list(found[:size])
    return page, encode_page_token(name(page[-1])) if len(found) > size else ""


class ListingService:
    """The listing RPCs of ``EventStoreServicer``, which provides the attributes below."""

    _storage: AsyncRecordStorage
    _limits: Limits

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
            size, after = categories_page_arguments(request.page_size, request.page_token)
            found = await self._storage.list_categories(after=after, limit=size + 1)
        except Exception as error:
            await self._fail(context, error, "ListCategories")
        page, token = next_page(found, size, lambda category: category.category)
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
            next_page_token=token,
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
            size, after = streams_page_arguments(
                self._limits,
                request.category,
                request.prefix,
                request.page_size,
                request.page_token,
            )
            found = await self._storage.list_streams(
                category=request.category, prefix=request.prefix, after=after, limit=size + 1
            )
        except Exception as error:
            await self._fail(context, error, "ListStreams")
        page, token = next_page(found, size, lambda stream: stream.stream)
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
            next_page_token=token,
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
            summary = await self._storage.summary()
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
