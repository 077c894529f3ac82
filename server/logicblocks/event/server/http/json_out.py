"""What the HTTP face answers, as JSON text: stored events, listings, the summary.

A stored payload is JSON text checked on its way in; it is embedded in the answer as it
is stored, never decoded and encoded again, so integers of any size, number forms and
key order come back as they were published; metadata likewise. Everything else is built
with ``json.dumps``. An event's ``tags`` and ``metadata`` keys appear only when it has
them, as in ``StoredEvent.json()``.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from logicblocks.event.store.conditions import (
    AllConditions,
    AnyCondition,
    EmptyStreamCondition,
    NoEventMatchesCondition,
    PositionIsCondition,
    WriteCondition,
)
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types.query import Query
from logicblocks.event.v1 import events_pb2

from ..operator.events_json import rfc3339

__all__ = [
    "categories_json",
    "condition_json",
    "events_page_json",
    "info_json",
    "query_json",
    "record_json",
    "records_json",
    "streams_json",
    "wire_event_json",
]


def _text(value: object) -> str:
    # Names as they are: no \u escapes for non-ASCII, so the answer reads as the names do.
    return json.dumps(value, ensure_ascii=False)


def _event_json(
    id: str,
    name: str,
    category: str,
    stream: str,
    position: int,
    sequence_number: int,
    payload: str,
    observed_at: datetime,
    occurred_at: datetime,
    tags: Sequence[str],
    metadata: str | None,
) -> str:
    extra = (f',"tags":{_text(list(tags))}' if tags else "") + (
        f',"metadata":{metadata}' if metadata else ""
    )
    return (
        f'{{"id":{_text(id)},"name":{_text(name)},"category":{_text(category)},'
        f'"stream":{_text(stream)},"position":{position},"sequence_number":{sequence_number},'
        f'"payload":{payload},"observed_at":"{rfc3339(observed_at)}",'
        f'"occurred_at":"{rfc3339(occurred_at)}"{extra}}}'
    )


def record_json(record: EventRecord) -> str:
    """A stored record as the API's event object, its payload text embedded as stored."""
    return _event_json(
        record.id,
        record.name,
        record.category,
        record.stream,
        record.position,
        record.sequence_number,
        record.payload,
        record.observed_at,
        record.occurred_at,
        record.tags,
        record.metadata,
    )


def wire_event_json(event: events_pb2.StoredEvent) -> str:
    """A wire event (as subscriptions carry them) as the API's event object."""
    return _event_json(
        event.id,
        event.name,
        event.category,
        event.stream,
        event.position,
        event.sequence_number,
        event.payload.decode("utf-8"),
        event.observed_at.ToDatetime(tzinfo=UTC),
        event.occurred_at.ToDatetime(tzinfo=UTC),
        event.tags,
        event.metadata.decode("utf-8") if event.metadata else None,
    )


def records_json(records: Iterable[EventRecord]) -> str:
    """``{"events": [...]}``: what a publish answers."""
    return '{"events":[' + ",".join(record_json(record) for record in records) + "]}"


def events_page_json(records: Sequence[EventRecord], next_after: int, more: bool) -> str:
    """A page of events with the cursor of the next page."""
    events = ",".join(record_json(record) for record in records)
    return f'{{"events":[{events}],"next_after":{next_after},"more":{_text(more)}}}'


def _next_token(token: str) -> str | None:
    # The last page says so with null, not with gRPC's empty string.
    return token or None


def categories_json(page: Sequence[CategorySummary], token: str) -> str:
    """A page of categories with their counts."""
    return _text(
        {
            "categories": [
                {
                    "category": category.category,
                    "streams": category.streams,
                    "events": category.events,
                    "last_sequence_number": category.last_sequence_number,
                }
                for category in page
            ],
            "next_page_token": _next_token(token),
        }
    )


def streams_json(category: str, page: Sequence[StreamSummary], token: str) -> str:
    """A page of one category's streams."""
    return _text(
        {
            "category": category,
            "streams": [
                {
                    "stream": stream.stream,
                    "events": stream.events,
                    "last_position": stream.last_position,
                    "last_sequence_number": stream.last_sequence_number,
                    "last_observed_at": rfc3339(stream.last_observed_at),
                }
                for stream in page
            ],
            "next_page_token": _next_token(token),
        }
    )


def info_json(server_version: str, summary: StoreSummary) -> str:
    """The server's version, the storage kind, the head (null: empty) and the counts."""
    return _text(
        {
            "server_version": server_version,
            "storage": summary.storage,
            "head": summary.head if summary.head >= 0 else None,
            "categories": summary.categories,
            "streams": summary.streams,
            "events": summary.events,
        }
    )


def condition_json(condition: WriteCondition | None) -> dict[str, object] | None:
    """A write condition in the shape a publish sends it (the proto's, with numbers as
    numbers)."""
    match condition:
        case PositionIsCondition(position=position):
            return {"position_is": {"position": position}}
        case EmptyStreamCondition():
            return {"stream_is_empty": {}}
        case NoEventMatchesCondition(query=query, after_sequence_number=after):
            matches: dict[str, object] = {"query": query_json(query)}
            if after is not None:
                matches["after_sequence_number"] = after
            return {"no_event_matches": matches}
        case AllConditions(conditions=parts) | AnyCondition(conditions=parts):
            kind = "all_of" if isinstance(condition, AllConditions) else "any_of"
            return {kind: {"conditions": [condition_json(part) for part in parts]}}
    return None


def query_json(query: Query) -> dict[str, object]:
    """A query in the shape a request sends it: its items, each with the parts it has."""
    items = [
        {
            key: value
            for key, value in (
                ("category", item.category),
                ("stream", item.stream),
                ("names", sorted(item.names)),
                ("tags", sorted(item.tags)),
            )
            if value
        }
        for item in query.items
    ]
    return {"items": items}
