"""Requests into checked arguments, for both faces of the server: gRPC and HTTP/JSON.

The HTTP face turns its JSON and query parameters into the same protobuf requests and
calls these, so bad input gets the same field path and the same rule on both faces
(``tests/integration/test_bad_input_both_faces.py`` holds them to it).
"""

from collections.abc import Set

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.records import PendingEvent
from logicblocks.event.transport.wire import condition_from_wire
from logicblocks.event.types import identifier
from logicblocks.event.v1 import event_store_pb2, targets_pb2

from .limits import Limits
from .wire import new_events_from_wire, publish_target_from_wire, read_target_from_wire

__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "MAX_HEARTBEAT_SECONDS",
    "MIN_HEARTBEAT_SECONDS",
    "heartbeat_seconds",
    "publish_arguments",
    "read_target",
    "scan_limit",
]

# Heartbeats: the default idle interval and the range a subscriber may ask for.
DEFAULT_HEARTBEAT_SECONDS = 5.0
MIN_HEARTBEAT_SECONDS = 1.0
MAX_HEARTBEAT_SECONDS = 3600.0


def publish_arguments(
    request: event_store_pb2.PublishRequest, limits: Limits
) -> tuple[identifier.Stream, list[PendingEvent], Set[WriteCondition]]:
    """The stream, the events and the conditions of a publish, checked against ``limits``
    before anything is decoded."""
    limits.check_publish(request)
    target = publish_target_from_wire(request)
    events = new_events_from_wire(request.events)
    conditions = frozenset(
        condition_from_wire(f"conditions[{index}]", condition)
        for index, condition in enumerate(request.conditions)
    )
    return target, events, conditions


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
