"""Requests whose bytes are not the message they claim to be: ``INVALID_ARGUMENT``.

gRPC decodes a request before any handler runs and, when decoding fails, ends the call
with ``UNKNOWN`` and the decoder's exception text. This interceptor makes such requests
ordinary bad input: the error names the request and says what it must be.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError

from logicblocks.event.store import InvalidInputError

from .status import status_for

__all__ = ["MalformedRequestInterceptor"]

# grpc-stubs makes the interceptor generic; at run time it is a plain class.
if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor


@dataclass(frozen=True)
class _Malformed:
    """Stands in for a request that could not be decoded."""

    reason: str


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError as error:
            return _Malformed(str(error))

    return decode


def _rejection(request: _Malformed) -> grpc.Status:
    return status_for(
        InvalidInputError("request", f"must be a valid protobuf message ({request.reason})"),
        method="decode",
    )


def _unary(behaviour: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Any]:
    async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(request, _Malformed):
            status = _rejection(request)
            await context.abort(status.code, status.details, status.trailing_metadata)
        return await behaviour(request, context)

    return handle


def _streaming(behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    async def handle(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        if isinstance(request, _Malformed):
            status = _rejection(request)
            await context.abort(status.code, status.details, status.trailing_metadata)
        async for response in behaviour(request, context):
            yield response

    return handle


def _bidirectional(behaviour: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    async def handle(
        requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async def checked() -> AsyncIterator[Any]:
            # Raised where the handler reads the message, which ends the call with it as
            # with any bad message mid-stream.
            async for request in requests:
                if isinstance(request, _Malformed):
                    raise InvalidInputError(
                        "request", f"must be a valid protobuf message ({request.reason})"
                    )
                yield request

        async for response in behaviour(checked(), context):
            yield response

    return handle


class MalformedRequestInterceptor(_ServerInterceptor):
    """Rejects undecodable requests to the services under ``prefix`` (one, or a tuple of
    them) as bad input."""

    def __init__(self, prefix: str | tuple[str, ...]):
        self._prefix = prefix

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(self._prefix):
            return handler
        if handler.request_deserializer is None:
            return handler
        tolerant = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                request_deserializer=tolerant, unary_unary=_unary(handler.unary_unary)
            )
        if handler.unary_stream is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                request_deserializer=tolerant, unary_stream=_streaming(handler.unary_stream)
            )
        if handler.stream_stream is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                request_deserializer=tolerant,
                stream_stream=_bidirectional(handler.stream_stream),
            )
        return handler
