"""``categories``, ``streams`` and ``info``: what a server holds, from its index, through
the generated stubs (the documented Python API has no listing calls).

Pages are followed to the end and printed as they arrive, so listing a category of a
million streams holds one page in memory (a table, which must measure every row, holds
them all).
"""

import argparse
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from typing import Any, TypeVar

import grpc

from logicblocks.event.transport.errors import documented_error
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc

from .connection import Connection
from .events_json import rfc3339
from .output import JsonLines, print_rows, print_table

__all__ = ["categories", "info", "streams"]

_PAGE_SIZE = 1000  # the most the server gives in one page

_Response = TypeVar("_Response")
_Item = TypeVar("_Item")


def _call(method: Callable[..., _Response], request: Any, connection: Connection) -> _Response:
    try:
        return method(request, metadata=connection.metadata, timeout=60)
    except grpc.RpcError as error:
        raise documented_error(error) from None


def _pages(fetch: Callable[[str], tuple[Iterable[_Item], str]]) -> Iterator[_Item]:
    """Every item of a paged listing: ``fetch(token)`` gives a page and the next token."""
    token = ""
    while True:
        items, token = fetch(token)
        yield from items
        if not token:
            return


_CATEGORY_COLUMNS = ("category", "streams", "events", "last_sequence_number")


def categories(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print every category with its streams, events and last sequence number."""
    with connection.channel() as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)

        def page(token: str) -> tuple[Iterable[dict[str, Any]], str]:
            request = event_store_pb2.ListCategoriesRequest(page_size=_PAGE_SIZE, page_token=token)
            answer = _call(stub.ListCategories, request, connection)
            rows = (
                {column: getattr(category, column) for column in _CATEGORY_COLUMNS}
                for category in answer.categories
            )
            return rows, answer.next_page_token

        print_rows(_pages(page), _CATEGORY_COLUMNS, arguments.format)
    return 0


_STREAM_COLUMNS = ("stream", "events", "last_position", "last_sequence_number", "last_observed_at")


def streams(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print the streams of a category (those whose name starts with ``--prefix``)."""
    with connection.channel() as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)

        def page(token: str) -> tuple[Iterable[dict[str, Any]], str]:
            request = event_store_pb2.ListStreamsRequest(
                category=arguments.category,
                prefix=arguments.prefix or "",
                page_size=_PAGE_SIZE,
                page_token=token,
            )
            answer = _call(stub.ListStreams, request, connection)
            rows = (
                {
                    "stream": stream.stream,
                    "events": stream.events,
                    "last_position": stream.last_position,
                    "last_sequence_number": stream.last_sequence_number,
                    "last_observed_at": rfc3339(stream.last_observed_at.ToDatetime(tzinfo=UTC)),
                }
                for stream in answer.streams
            )
            return rows, answer.next_page_token

        print_rows(_pages(page), _STREAM_COLUMNS, arguments.format)
    return 0


def info(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print the server's version and storage, the head and the store's counts."""
    with connection.channel() as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        answer = _call(stub.GetInfo, event_store_pb2.GetInfoRequest(), connection)
    summary = {
        "target": connection.target,
        "server_version": answer.server_version,
        "storage": answer.storage,
        "head": answer.head if answer.HasField("head") else None,
        "categories": answer.categories,
        "streams": answer.streams,
        "events": answer.events,
    }
    if arguments.format == "table":
        print_table(("field", "value"), summary.items())
    else:
        JsonLines().write(summary)
    return 0
