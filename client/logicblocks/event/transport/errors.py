"""How the gRPC clients report a failed call: every status code as an ``EventStoreError``.

One mapping for both clients (blocking and asyncio) and every call. For a publish it is
also where certainty is decided: only statuses that prove nothing was written become
errors that say so (``InvalidInputError``, ``UnmetWriteConditionError``, ...); every other
failure may have come after the write and becomes ``PublishOutcomeUnknownError``, which
carries the events with their ids so the caller can retry without storing anything twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from grpc_status import rpc_status

from logicblocks.event.store.exceptions import (
    AuthenticationError,
    EventStoreError,
    GroupExistsError,
    GroupNotFoundError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    PublishOutcomeUnknownError,
    ServerError,
    StorageUnavailableError,
)
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import conditions_pb2

from .wire import bad_request_from_wire, condition_failure_from_wire

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # isort: skip

__all__ = [
    "GROUP_RESOURCE",
    "RESUMED_SCAN_CODES",
    "RETRIED_PUBLISH_CODES",
    "PublishAttempt",
    "documented_error",
    "error_for_status",
]

# A publish failing with these is tried again by the client itself, with the same request
# (the same ids): the server was not reached, or did not answer in time. Either way the
# retry settles it: it writes the events, or returns them if the first try had.
RETRIED_PUBLISH_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

# A scan failing with these is resumed after the last event it yielded. Not on a
# deadline: a scan has none, and a deadline of the server's own is not a lost connection.
RESUMED_SCAN_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})

# gRPC's own size checks, by the text gRPC gives them (the code alone cannot tell which
# end refused, and that decides whether a publish was written). A request refused for
# its size was never handled: nothing written. An answer refused for its size (by the
# client on receipt, or by the server on sending) came after the write.
_REQUEST_TOO_LARGE = (
    "CLIENT: Sent message larger than max",
    "SERVER: Received message larger than max",
)
_MESSAGE_TOO_LARGE = "message larger than max"

# Failures of a read worth retrying later: the server or the connection went away.
_READ_UNAVAILABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.ABORTED,
    }
)


@dataclass(frozen=True)
class PublishAttempt:
    """The publish a failed call was making: where to, and its events with their ids.

    ``target`` is the stream of a publish into one stream, and the writes as sent (a
    tuple of ``StreamWrite``) of a publish into several.
    """

    target: object
    events: Sequence[NewEvent]


def _unpacked(details: Sequence[any_pb2.Any], message_type: type[Message]) -> Message | None:
    for packed in details:
        candidate = message_type()
        if packed.Unpack(candidate):
            return candidate
    return None


# The resource a consumer group's NOT_FOUND and ALREADY_EXISTS name in their details.
GROUP_RESOURCE = "logicblocks.event.v1.Group"


def _group_named(details: Sequence[any_pb2.Any]) -> str | None:
    """The group a status's ``google.rpc.ResourceInfo`` names, if it names one (a status
    without it, from a proxy say, is not about a group)."""
    resource = _unpacked(details, error_details_pb2.ResourceInfo)
    if resource is None or getattr(resource, "resource_type", None) != GROUP_RESOURCE:
        return None
    return str(getattr(resource, "resource_name", ""))


def error_for_status(
    code: grpc.StatusCode | None,
    message: str,
    details: Sequence[any_pb2.Any] = (),
    *,
    publish: PublishAttempt | None = None,
) -> EventStoreError:
    """The documented error for a call that ended with ``code``, ``message`` and the
    rich-status ``details``; ``publish`` when the call was that publish."""
    name = code.name if code is not None else "UNKNOWN"
    # Certain for a publish: each of these is decided before any handler writes (the
    # request's checks, the conditions in the write transaction, the token, the method).
    if code == grpc.StatusCode.INVALID_ARGUMENT or (
        code == grpc.StatusCode.OUT_OF_RANGE and publish is None
    ):
        return bad_request_from_wire(message, _unpacked(details, error_details_pb2.BadRequest))
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        failure = _unpacked(details, conditions_pb2.WriteConditionFailure)
        return condition_failure_from_wire(
            message,
            failure
            if isinstance(failure, conditions_pb2.WriteConditionFailure)
            else conditions_pb2.WriteConditionFailure(),
        )
    group = _group_named(details) if publish is None else None
    if group is not None and code == grpc.StatusCode.NOT_FOUND:
        return GroupNotFoundError(group)
    if group is not None and code == grpc.StatusCode.ALREADY_EXISTS:
        return GroupExistsError(group)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return AuthenticationError(f"the server refused the credentials: {message}")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDeniedError(f"the server refused the call: {message}")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return ServerError(f"the server does not serve this call: {message}", code=name)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if message.startswith(_REQUEST_TOO_LARGE):
            return InvalidInputError("request", f"must be smaller: {message}")
        if _MESSAGE_TOO_LARGE not in message:
            # The server's own limits refuse before anything is written.
            return LimitExceededError(f"a server limit refused the call: {message}")
        if publish is None:
            return LimitExceededError(
                f"an answer exceeded a message size limit (raise the client's "
                f"max_message_bytes): {message}"
            )
        # An answer too large for a publish: it came after the write.
    if publish is not None:
        return PublishOutcomeUnknownError(
            f"the publish may or may not be stored ({name}: {message}); publish the same "
            f"events again with the same ids (the error's events) to settle it",
            target=publish.target,
            events=publish.events,
        )
    if code in _READ_UNAVAILABLE:
        return StorageUnavailableError(f"the event store server is unavailable ({name}): {message}")
    return ServerError(f"the server failed the call ({name}): {message}", code=name)


def _details_of(error: grpc.RpcError) -> list[any_pb2.Any]:
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except ValueError:
        return []
    return list(status.details) if status is not None else []


def documented_error(
    error: grpc.RpcError, *, publish: PublishAttempt | None = None
) -> EventStoreError:
    """The documented error for a failed call of either client (see ``error_for_status``)."""
    code_of = getattr(error, "code", None)
    code = code_of() if callable(code_of) else None
    details = getattr(error, "details", None)
    message = str((details() if callable(details) else None) or error)
    return error_for_status(code, message, _details_of(error), publish=publish)
