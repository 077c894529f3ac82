"""Events as the operator commands write and read them: one JSON object per line.

A stored event is written with every field (``id``, ``name``, ``category``, ``stream``,
``position``, ``sequence_number``, ``payload`` as a JSON object, ``observed_at`` and
``occurred_at`` in RFC 3339), so ``read``, ``tail`` and ``export`` print the same lines and
``import`` reads them back. ``publish`` reads new events: ``name`` and ``payload``, and
optionally ``id``, ``observed_at`` and ``occurred_at``.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from logicblocks.event.types import NewEvent, StoredEvent

__all__ = [
    "ExportedEvent",
    "InputError",
    "event_to_json",
    "exported_events",
    "new_events",
    "rfc3339",
]

_NEW_EVENT_KEYS = frozenset({"id", "name", "payload", "observed_at", "occurred_at"})
_STORED_EVENT_KEYS = _NEW_EVENT_KEYS | {"category", "stream", "position", "sequence_number"}


class InputError(Exception):
    """A line of input the command cannot use; the message names the line and the field."""


def rfc3339(timestamp: datetime) -> str:
    """``timestamp`` in UTC as RFC 3339, ``Z`` for the zone, microseconds when not zero."""
    return timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_to_json(event: StoredEvent) -> dict[str, Any]:
    """Every field of ``event``, as plain JSON values (the payload as an object)."""
    return {
        "id": event.id,
        "name": event.name,
        "category": event.category,
        "stream": event.stream,
        "position": event.position,
        "sequence_number": event.sequence_number,
        "payload": dict(event.payload),
        "observed_at": rfc3339(event.observed_at),
        "occurred_at": rfc3339(event.occurred_at),
    }


@dataclass(frozen=True)
class ExportedEvent:
    """One line of an export: where the event belongs and the event, with its id."""

    category: str
    stream: str
    event: NewEvent
    line_bytes: int


def _objects(lines: Iterable[str], source: str) -> Iterator[tuple[str, dict[str, Any], int]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{where}: not JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(value, dict):
            raise InputError(f"{where}: must be a JSON object")
        yield where, value, len(line.encode())


def _text(where: str, value: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    if key not in value:
        if required:
            raise InputError(f"{where}: {key}: is required")
        return None
    text = value[key]
    if not isinstance(text, str):
        raise InputError(f"{where}: {key}: must be a string")
    return text


def _timestamp(where: str, value: Mapping[str, Any], key: str) -> datetime | None:
    text = _text(where, value, key, required=False)
    if text is None:
        return None
    try:
        timestamp = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: {key}: must be an RFC 3339 timestamp") from None
    if timestamp.tzinfo is None:
        raise InputError(f"{where}: {key}: must name its time zone (Z or +HH:MM)")
    return timestamp


def _new_event(where: str, value: Mapping[str, Any], allowed: frozenset[str]) -> NewEvent:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(f"{where}: {unknown[0]}: is not a field of an event")
    payload = value.get("payload")
    if not isinstance(payload, dict):
        raise InputError(f"{where}: payload: is required and must be a JSON object")
    name = _text(where, value, "name", required=True)
    assert name is not None
    return NewEvent(
        name=name,
        payload=payload,
        id=_text(where, value, "id", required=False),
        observed_at=_timestamp(where, value, "observed_at"),
        occurred_at=_timestamp(where, value, "occurred_at"),
    )


def new_events(lines: Iterable[str], source: str = "stdin") -> list[NewEvent]:
    """The events to publish, one JSON object per line of ``lines`` (blank lines skipped)."""
    return [
        _new_event(where, value, _NEW_EVENT_KEYS) for where, value, _ in _objects(lines, source)
    ]


def exported_events(lines: Iterable[str], source: str) -> Iterator[ExportedEvent]:
    """The events of an export (as ``event_to_json`` wrote them), in the file's order.

    ``position`` and ``sequence_number`` are the source store's and are not kept (the
    target store assigns its own), but they are checked, so a file that is not an
    export is refused rather than half imported.
    """
    for where, value, size in _objects(lines, source):
        for key in ("id", "observed_at", "occurred_at"):
            if key not in value:
                raise InputError(f"{where}: {key}: is required")
        for key in ("position", "sequence_number"):
            if not isinstance(value.get(key), int):
                raise InputError(f"{where}: {key}: is required and must be an integer")
        category = _text(where, value, "category", required=True)
        stream = _text(where, value, "stream", required=True)
        assert category is not None and stream is not None
        event = _new_event(where, value, _STORED_EVENT_KEYS)
        yield ExportedEvent(category=category, stream=stream, event=event, line_bytes=size)
