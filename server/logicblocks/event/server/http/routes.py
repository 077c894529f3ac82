"""The API's request handlers: the summary, the listings, pages of events, lookups, publish.

Each handler turns its request into the values gRPC's handlers check (``arguments``,
``listing``), calls the storage the gRPC face calls, and answers JSON (``json_out``).
"""

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.start import scan_after
from logicblocks.event.types import identifier

from ..arguments import publish_arguments, read_target, scan_limit
from ..limits import Limits
from ..listing import categories_page_arguments, next_page, streams_page_arguments
from ..log_tail import READ_PAGE_BYTES
from ..version import version
from . import query
from .access import peer, route_label
from .errors import error_body, error_response, json_response
from .json_in import publish_request
from .json_out import (
    categories_json,
    events_page_json,
    info_json,
    record_json,
    records_json,
    streams_json,
)

__all__ = ["DEFAULT_EVENTS_PAGE", "MAX_EVENTS_PAGE", "Api"]

_log = logging.getLogger("logicblocks.event.server")

# A page of events: as many by default and at most (as for the listings), and about
# this many payload bytes (one event at least).
DEFAULT_EVENTS_PAGE = 100
MAX_EVENTS_PAGE = 1000
_PAGE_BYTES = READ_PAGE_BYTES
# The greatest sequence number storage can hold (a 64-bit integer).
_MAX_SEQUENCE_NUMBER = 2**63 - 1

_EVENTS_PARAMETERS = {
    **query.TARGET_PARAMETERS,
    "after_sequence_number": "after",
    "limit": "limit",
}
_LIST_PARAMETERS = {"page_size": "page_size", "page_token": "page_token", "prefix": "prefix"}
_STREAMS_PARAMETERS = {**_LIST_PARAMETERS, "category": "category"}
_PUBLISH_PARAMETERS = {"target.category": "category", "target.stream": "stream"}


@dataclass
class Api:
    """The handlers, and what they share with the gRPC face: its storage and limits.

    ``on_storage_error`` is told of each storage failure, as the gRPC face's is.
    """

    storage: AsyncRecordStorage
    limits: Limits
    on_storage_error: Callable[[str], None] | None = None

    async def answer(
        self,
        request: web.Request,
        parameters: Mapping[str, str],
        work: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        """``work``'s answer, or the error answer for what it raised."""
        try:
            return await work()
        except Exception as error:
            response = error_response(
                error,
                method=route_label(request),
                parameters=parameters,
                on_storage_error=self.on_storage_error,
            )
            _log.info(
                "event=request_failed method=%s peer=%s status=%d",
                route_label(request),
                peer(request),
                response.status,
            )
            return response

    async def info(self, request: web.Request) -> web.Response:
        """``GET /api/v1/info``: the version, the storage kind, the head and the counts."""

        async def work() -> web.Response:
            return json_response(info_json(version(), await self.storage.summary()))

        return await self.answer(request, {}, work)

    async def categories(self, request: web.Request) -> web.Response:
        """``GET /api/v1/categories``: a page of categories."""

        async def work() -> web.Response:
            size, after = categories_page_arguments(
                query.integer(request.query.get("page_size", "0")),
                request.query.get("page_token", ""),
            )
            found = await self.storage.list_categories(after=after, limit=size + 1)
            page, token = next_page(found, size, lambda category: category.category)
            return json_response(categories_json(page, token))

        return await self.answer(request, _LIST_PARAMETERS, work)

    async def streams(self, request: web.Request) -> web.Response:
        """``GET /api/v1/categories/{category}/streams``: a page of a category's streams."""

        async def work() -> web.Response:
            category = query.path_name(request, "category", "category")
            prefix = request.query.get("prefix", "")
            size, after = streams_page_arguments(
                self.limits,
                category,
                prefix,
                query.integer(request.query.get("page_size", "0")),
                request.query.get("page_token", ""),
            )
            found = await self.storage.list_streams(
                category=category, prefix=prefix, after=after, limit=size + 1
            )
            page, token = next_page(found, size, lambda stream: stream.stream)
            return json_response(streams_json(category, page, token))

        return await self.answer(request, _STREAMS_PARAMETERS, work)

    async def events(self, request: web.Request) -> web.Response:
        """``GET /api/v1/events``: a page of the log's, a category's or a stream's events."""

        async def work() -> web.Response:
            target = read_target(query.target(request.query), is_set=True, limits=self.limits)
            after = scan_after(query.integer(request.query.get("after")))
            limit = scan_limit(query.integer(request.query.get("limit")))
            if limit is None:
                limit = DEFAULT_EVENTS_PAGE
            if limit > MAX_EVENTS_PAGE:
                raise InvalidInputError("limit", f"must be at most {MAX_EVENTS_PAGE} (one page)")
            # One more than the page: whether another follows, most often without a
            # second read.
            found = await self.storage.read_page(
                target=target, after_sequence_number=after, limit=limit + 1, max_bytes=_PAGE_BYTES
            )
            page, more = found[:limit], len(found) > limit
            next_after = page[-1].sequence_number if page else after
            if not more and (page or limit == 0):
                # Cut short by its bytes (or asked for nothing): look one event further.
                more = bool(
                    await self.storage.read_page(
                        target=target, after_sequence_number=next_after, limit=1, max_bytes=0
                    )
                )
            return json_response(events_page_json(page, next_after, more))

        return await self.answer(request, _EVENTS_PARAMETERS, work)

    async def event(self, request: web.Request) -> web.Response:
        """``GET /api/v1/events/{sequence_number}``: one event of the log, or 404."""

        async def work() -> web.Response:
            wanted = int(request.match_info["sequence_number"])
            found = (
                await self.storage.read_page(
                    target=identifier.Log(),
                    after_sequence_number=wanted - 1,
                    limit=1,
                    max_bytes=None,
                )
                if wanted <= _MAX_SEQUENCE_NUMBER
                else []
            )
            if not found or found[0].sequence_number != wanted:
                return json_response(
                    error_body("NOT_FOUND", f"no event has sequence number {wanted}"), 404
                )
            return json_response(record_json(found[0]))

        return await self.answer(request, {}, work)

    async def event_by_id(self, request: web.Request) -> web.Response:
        """``GET /api/v1/events/by-id/{id}``: one event, or 404 (501 from a storage that
        cannot look ids up)."""

        async def work() -> web.Response:
            wanted = query.path_name(request, "id", "id")
            try:
                found = await self.storage.read_record_by_id(wanted)
            except NotImplementedError as error:
                return json_response(error_body("UNIMPLEMENTED", str(error)), 501)
            if found is None:
                return json_response(
                    error_body("NOT_FOUND", f"no event has the id {json.dumps(wanted)}"), 404
                )
            return json_response(record_json(found))

        return await self.answer(request, {}, work)

    async def publish(self, request: web.Request) -> web.Response:
        """``POST /api/v1/streams/{category}/{stream}/events``: publish, atomically."""

        if request.content_type != "application/json":
            # Required: a cross-site HTML form cannot send this type without a CORS
            # preflight, which this server never answers, so no other site can make a
            # visitor's browser publish to an open server.
            rule = "must be application/json"
            return json_response(
                error_body(
                    "INVALID_ARGUMENT",
                    f"Content-Type: {rule}",
                    field="Content-Type",
                    rule=rule,
                    parameter="Content-Type",
                ),
                415,
            )

        async def work() -> web.Response:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return _too_large(self.limits.max_request_bytes)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError("request", "must be UTF-8 encoded JSON") from None
            wire = publish_request(
                query.path_name(request, "category", "target.category"),
                query.path_name(request, "stream", "target.stream"),
                text,
            )
            writes, conditions = publish_arguments(wire, self.limits)
            records = await self.storage.write_streams(writes=writes, conditions=conditions)
            _log.debug(
                "event=published category=%s stream=%s events=%d",
                wire.target.category,
                wire.target.stream,
                len(records),
            )
            return json_response(records_json(records), 201)

        return await self.answer(request, _PUBLISH_PARAMETERS, work)


def _too_large(limit: int) -> web.Response:
    rule = f"must be at most {limit} bytes (max_request_bytes)"
    return json_response(
        error_body(
            "RESOURCE_EXHAUSTED", f"request: {rule}", field="request", rule=rule, parameter=None
        ),
        413,
    )
