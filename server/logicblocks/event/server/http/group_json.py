"""Consumer groups as the HTTP face answers them, as JSON text.

The shapes follow the gRPC messages (``Group``, ``ParkedEvent``) with their field names,
numbers as numbers and durations as seconds, so a reader of either face reads the other.
"""

import json
from collections.abc import Sequence
from typing import Any

from logicblocks.event.store.groups import GroupInfo, GroupStart, GroupTarget, ParkedEvent
from logicblocks.event.store.start import After, FromBeginning
from logicblocks.event.types import identifier

from ..operator.groups import parked_event_fields
from .json_out import query_json

__all__ = ["group_json", "groups_json", "parked_page_json"]


def _target(target: GroupTarget) -> dict[str, Any]:
    # The Target message's one field that is set.
    if isinstance(target, identifier.Stream):
        return {"stream": {"category": target.category, "stream": target.stream}}
    if isinstance(target, identifier.Category):
        return {"category": {"category": target.category}}
    if isinstance(target, identifier.Log):
        return {"log": {}}
    return {"query": query_json(target)}


def _start(start: GroupStart) -> dict[str, Any]:
    if isinstance(start, After):
        return {"after_sequence_number": start.sequence_number}
    return {"beginning": {}} if isinstance(start, FromBeginning) else {"end": {}}


def _seconds(value: float) -> float | int:
    # A whole number of seconds as an integer ("30", not "30.0"): a reader that keeps
    # numbers as their text (the console does, for payloads) sees the number it expects.
    return int(value) if float(value).is_integer() else value


def _group(info: GroupInfo) -> dict[str, Any]:
    settings = info.settings
    return {
        "name": info.name,
        "target": _target(info.target),
        "start": _start(info.start),
        "settings": {
            "ack_timeout": _seconds(settings.ack_timeout),
            "max_retries": settings.max_retries,
            "retry_backoff": _seconds(settings.retry_backoff),
            "retry_backoff_max": _seconds(settings.retry_backoff_max),
            "max_in_flight": settings.max_in_flight,
            "member_timeout": _seconds(settings.member_timeout),
            "partitions": settings.partitions,
        },
        "lag": info.lag,
        "parked": info.parked,
        "members": [{"consumer_id": member} for member in info.members],
    }


def _text(value: object) -> str:
    # Names as they are: no \u escapes for non-ASCII.
    return json.dumps(value, ensure_ascii=False)


def group_json(info: GroupInfo) -> str:
    """One group, with its lag, parked count and live members."""
    return _text(_group(info))


def groups_json(infos: Sequence[GroupInfo]) -> str:
    """Every group, by name."""
    return _text({"groups": [_group(info) for info in sorted(infos, key=lambda i: i.name)]})


def parked_page_json(events: Sequence[ParkedEvent], more: bool) -> str:
    """A page of parked events, oldest first, and whether more follow (the next page
    starts after the last one's sequence number)."""
    return _text({"parked_events": [parked_event_fields(e) for e in events], "more": more})
