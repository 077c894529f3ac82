"""``groups``, ``parked``, ``replay`` and ``drop``: consumer groups as an operator sees them.

Through the documented Python API over gRPC (``store.consumer_groups()``,
``store.consumer_group(name)``), so the CLI answers exactly what an application would.
"""

import argparse
from collections.abc import Callable
from typing import Any

from logicblocks.event.store import ConsumerGroup, EventStore
from logicblocks.event.store.groups import GroupInfo, ParkedEvent
from logicblocks.event.store.start import After, FromBeginning, FromEnd
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from .connection import Connection
from .events_json import rfc3339
from .output import JsonLines, print_rows

__all__ = ["drop", "groups", "parked", "parked_event_fields", "replay"]

_GROUP_COLUMNS = ("name", "target", "start", "lag", "parked", "members")
_PARKED_COLUMNS = (
    "sequence_number",
    "category",
    "stream",
    "position",
    "attempts",
    "parked_at",
    "replaying",
    "reason",
)


def _target(target: Any) -> str:
    if isinstance(target, identifier.Stream):
        return f"stream {target.category}/{target.stream}"
    if isinstance(target, identifier.Category):
        return f"category {target.category}"
    if isinstance(target, Query):
        return f"query of {len(target.items)} item(s)"
    return "log"


def _start(start: Any) -> str:
    if isinstance(start, FromBeginning):
        return "beginning"
    if isinstance(start, FromEnd):
        return "end"
    assert isinstance(start, After)
    return f"after {start.sequence_number}"


def _group_row(group: GroupInfo) -> dict[str, Any]:
    return {
        "name": group.name,
        "target": _target(group.target),
        "start": _start(group.start),
        "lag": group.lag,
        "parked": group.parked,
        "members": list(group.members),
    }


def parked_event_fields(event: ParkedEvent) -> dict[str, Any]:
    """Every field of a parked event as plain JSON values, as the gRPC message names them
    (the HTTP face answers them too)."""
    return {
        "sequence_number": event.sequence_number,
        "event_id": event.event_id,
        "category": event.category,
        "stream": event.stream,
        "position": event.position,
        "partition": event.partition,
        "reason": event.reason,
        "attempts": event.attempts,
        "parked_at": rfc3339(event.parked_at),
        "replaying": event.replaying,
    }


def groups(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print every consumer group with its lag, parked count and live consumers."""
    with connection.adapter() as adapter:
        found = EventStore(adapter).consumer_groups()
    print_rows((_group_row(group) for group in found), _GROUP_COLUMNS, arguments.format)
    return 0


def parked(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print a group's parked events, oldest first."""
    with connection.adapter() as adapter:
        found = EventStore(adapter).consumer_group(arguments.group).parked()
    print_rows((parked_event_fields(event) for event in found), _PARKED_COLUMNS, arguments.format)
    return 0


def _chosen(arguments: argparse.Namespace) -> list[int] | None:
    return list(arguments.sequence_number) if arguments.sequence_number else None


def replay(arguments: argparse.Namespace, connection: Connection) -> int:
    """Deliver a group's parked events again (all, or those named); print how many."""
    return _settle_parked(arguments, connection, "replaying", ConsumerGroup.replay)


def drop(arguments: argparse.Namespace, connection: Connection) -> int:
    """Forget a group's parked events for good (all, or those named); print how many."""
    return _settle_parked(arguments, connection, "dropped", ConsumerGroup.drop)


def _settle_parked(
    arguments: argparse.Namespace,
    connection: Connection,
    key: str,
    action: Callable[..., int],
) -> int:
    with connection.adapter() as adapter:
        group = EventStore(adapter).consumer_group(arguments.group)
        count = action(group, sequence_numbers=_chosen(arguments))
    JsonLines().write({"group": arguments.group, key: count})
    return 0
