"""``GET /api/v1/subscribe``: a subscription as Server-Sent Events.

The same subscription as gRPC's ``Subscribe`` (``subscriptions.follow``: the history, one
caught-up marker, then live events from the shared log tail, and heartbeats), written as
SSE events named ``stored``, ``caught-up`` and ``heartbeat``. Every SSE ``id`` is a
checkpoint, a sequence number up to which every event of the target has been sent (a
stored event's own number, or the head a marker carries), so a browser's ``EventSource``,
which reconnects by itself sending the last id as ``Last-Event-ID``, resumes after it
with nothing skipped and nothing repeated.

Errors found before the stream starts are ordinary HTTP answers (``EventSource`` does not
retry those); a storage failure afterwards is sent as a ``failure`` event before the
stream ends (``EventSource`` then reconnects). The stream holds one of the server's
subscription slots, shared with gRPC, and writing waits for the client to read, so a slow
reader holds one page, as over gRPC.
"""

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from logicblocks.event.store.start import ReadStart, read_start

from ..arguments import heartbeat_seconds, read_target
from ..limits import SubscriptionSlots
from ..log_tail import LogTail
from ..subscriptions import CaughtUp, Events, Heartbeat, follow
from . import query
from .access import peer, route_label
from .errors import error_body, error_response
from .json_out import wire_event_json
from .routes import Api

__all__ = ["Subscriptions"]

_log = logging.getLogger("logicblocks.event.server")

# How long EventSource waits before reconnecting after the stream ends, in milliseconds.
_RETRY_MILLISECONDS = 2000

_PARAMETERS: Mapping[str, str] = {
    **query.TARGET_PARAMETERS,
    "after_sequence_number": "after",
    "heartbeat_interval": "heartbeat_interval",
    "from_end": "from_end",
}
_RESUME_PARAMETERS: Mapping[str, str] = {
    **_PARAMETERS,
    "after_sequence_number": "Last-Event-ID",
}


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _sse(name: str, data: str, checkpoint: int | None) -> str:
    # A line break inside data would end the field: each line is a data line of its own,
    # and EventSource joins them with "\n". Only the JSON's whitespace can hold one. Only
    # CR and LF break an SSE line: str.splitlines() would also split at U+2028 and the
    # like, which JSON strings may hold as they are, and break the payload.
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    # -1 too (an empty store): a reconnection then asks for everything after -1, all of
    # it, where no id would have it ask for its first start again (from_end: a gap).
    event_id = f"id: {checkpoint}\n" if checkpoint is not None else ""
    return f"{event_id}event: {name}\n{lines}\n"


def _marker(name: str, checkpoint: int) -> str:
    head = checkpoint if checkpoint >= 0 else None
    return _sse(name, json.dumps({"head": head}), checkpoint)


def _text(item: Events | CaughtUp | Heartbeat) -> str:
    if isinstance(item, Events):
        return "".join(
            _sse("stored", wire_event_json(event), event.sequence_number) for event in item.events
        )
    return _marker("caught-up" if isinstance(item, CaughtUp) else "heartbeat", item.checkpoint)


class Subscriptions:
    """The subscription route, following the log tail the gRPC face's subscriptions follow."""

    def __init__(self, api: Api, tail: LogTail, slots: SubscriptionSlots):
        self._api = api
        self._tail = tail
        self._slots = slots

    def _start(self, request: web.Request) -> ReadStart:
        resume = request.headers.get("Last-Event-ID")
        if resume is not None:
            # EventSource reconnecting: after the last checkpoint it was sent, whatever
            # the URL asked for first.
            return read_start(after_sequence_number=query.integer(resume))
        return read_start(
            after_sequence_number=query.integer(request.query.get("after")),
            from_end=query.flag("from_end", request.query.get("from_end")),
        )

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        """Stream the target's events as SSE until the client goes or the server stops."""
        caller = peer(request)
        parameters = _RESUME_PARAMETERS if "Last-Event-ID" in request.headers else _PARAMETERS
        sent = 0
        response: web.StreamResponse | None = None
        try:
            target = read_target(query.target(request.query), is_set=True, limits=self._api.limits)
            start = self._start(request)
            interval = heartbeat_seconds(query.number(request.query.get("heartbeat_interval")))
            with self._slots.hold(caller):
                _log.info(
                    "event=subscribed method=%s peer=%s target=%s start=%s",
                    route_label(request),
                    caller,
                    target,
                    start,
                )
                items: AsyncIterator[Events | CaughtUp | Heartbeat] = follow(
                    storage=self._api.storage,
                    tail=self._tail,
                    target=target,
                    start=start,
                    heartbeat_interval=interval,
                )
                async for item in items:
                    if response is None:
                        # Only now: a start beyond the head is refused before the first
                        # item, and should be an HTTP error, not an event.
                        response = await self._prepare(request)
                    await response.write(_text(item).encode("utf-8"))
                    if isinstance(item, Events):
                        sent += len(item.events)
        except asyncio.CancelledError:
            # The client went away (aiohttp cancels the handler) or the server stopped.
            self._log_cancelled(request, caller, sent)
            raise
        except Exception as error:
            if response is None:
                return error_response(
                    error,
                    method=route_label(request),
                    parameters=parameters,
                    on_storage_error=self._api.on_storage_error,
                )
            if isinstance(error, ConnectionError):
                self._log_cancelled(request, caller, sent)
                return response
            failure = error_response(
                error, method=route_label(request), on_storage_error=self._api.on_storage_error
            )
            _log.info(
                "event=subscription_failed method=%s peer=%s status=%d events_sent=%d",
                route_label(request),
                caller,
                failure.status,
                sent,
            )
            body = failure.text or error_body("INTERNAL", "internal error")
            with contextlib.suppress(ConnectionError):
                await response.write(_sse("failure", body, None).encode("utf-8"))
            return response
        _log.info(
            "event=subscription_ended method=%s peer=%s reason=shutdown events_sent=%d",
            route_label(request),
            caller,
            sent,
        )
        return response if response is not None else await self._prepare(request)

    @staticmethod
    def _log_cancelled(request: web.Request, caller: str, sent: int) -> None:
        _log.info(
            "event=subscription_cancelled method=%s peer=%s events_sent=%d",
            route_label(request),
            caller,
            sent,
        )

    async def _prepare(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                # Proxies that buffer responses (nginx) would hold the events back.
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        await response.write(f"retry: {_RETRY_MILLISECONDS}\n\n".encode())
        return response
