"""Requests into checked arguments, for both faces of the server: gRPC and HTTP/JSON.

The HTTP face turns its JSON and query parameters into the same protobuf requests and
calls these, so bad input gets the same field path and the same rule on both faces
(``tests/integration/test_bad_input_both_faces.py`` holds them to it).
"""

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.start import (
    FROM_BEGINNING,
    FROM_END,
    ReadStart,
    read_start,
    scan_after,
)
from logicblocks.event.transport.wire import timestamp_from_wire
from logicblocks.event.v1 import event_store_pb2, targets_pb2

from .limits import Limits
from .publishing import publish_arguments
from .wire import read_target_from_wire

__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "MAX_HEARTBEAT_SECONDS",
    "MIN_HEARTBEAT_SECONDS",
    "heartbeat_seconds",
    "publish_arguments",
    "read_since",
    "read_target",
    "scan_arguments",
    "scan_limit",
    "subscribe_arguments",
]

# Heartbeats: the default idle interval and the range a subscriber may ask for.
DEFAULT_HEARTBEAT_SECONDS = 5.0
MIN_HEARTBEAT_SECONDS = 1.0
MAX_HEARTBEAT_SECONDS = 3600.0


def read_since(value: Timestamp) -> datetime:
    """The time a scan or subscription starts at (``since``), as an aware datetime."""
    return timestamp_from_wire("since", value)


def subscribe_arguments(
    request: event_store_pb2.SubscribeRequest, limits: Limits
) -> tuple[Scannable, ReadStart | datetime, float]:
    """The target, start (a ``since`` time is left for the storage to place) and
    heartbeat interval of a subscription, checked."""
    target = read_target(request.target, is_set=request.HasField("target"), limits=limits)
    start: ReadStart | datetime
    match request.WhichOneof("start"):
        case "end":
            start = FROM_END
        case "after_sequence_number":
            start = read_start(after_sequence_number=request.after_sequence_number)
        case "since":
            start = read_since(request.since)
        case _:
            start = FROM_BEGINNING
    interval = request.heartbeat_interval
    heartbeat_interval = heartbeat_seconds(
        # Not ToTimedelta(): durations beyond timedelta's range raise OverflowError there.
        interval.seconds + interval.nanos / 1e9 if request.HasField("heartbeat_interval") else None
    )
    return target, start, heartbeat_interval


def scan_arguments(
    request: event_store_pb2.ScanRequest, limits: Limits
) -> tuple[Scannable, int | datetime, int | None]:
    """The target, start (the sequence number it reads after, or a ``since`` time) and
    limit of a scan, checked."""
    target = read_target(request.target, is_set=request.HasField("target"), limits=limits)
    given = request.after_sequence_number if request.HasField("after_sequence_number") else None
    start: int | datetime
    if request.HasField("since"):
        if given is not None:
            raise InvalidInputError("since", "cannot be given together with after_sequence_number")
        start = read_since(request.since)
    else:
        start = scan_after(given)
    limit = scan_limit(request.limit if request.HasField("limit") else None)
    return target, start, limit


def read_target(target: targets_pb2.Target, *, is_set: bool, limits: Limits) -> Scannable:
    """The log, category or stream a scan or subscription reads, its names checked."""
    limits.check_target(target)
    return read_target_from_wire(target, is_set=is_set)


def scan_limit(value: object) -> int | None:
    """How many events a scan may return (``None``: all); any integer >= 0."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidInputError("limit", "must be an integer >= 0")
    return value


def heartbeat_seconds(value: object) -> float:
    """The idle seconds between heartbeats (``None``: the default), within the range."""
    if value is None:
        return DEFAULT_HEARTBEAT_SECONDS
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not MIN_HEARTBEAT_SECONDS <= value <= MAX_HEARTBEAT_SECONDS
    ):
        raise InvalidInputError(
            "heartbeat_interval",
            f"must be between {MIN_HEARTBEAT_SECONDS} and {MAX_HEARTBEAT_SECONDS} seconds",
        )
    return float(value)
