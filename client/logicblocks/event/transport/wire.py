"""Conversions between the store's values and the messages of ``logicblocks.event.v1``.

The gRPC clients and the server both translate through here, so the two ends of the wire
agree by construction; the server's own half (requests in, results out) is
``logicblocks.event.server.wire``. Payloads cross as the UTF-8 bytes of the JSON text
every backend stores (see ``records``).
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import InvalidInputError, PublishOutcomeUnknownError
from logicblocks.event.store.payloads import decode_payload
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import PendingEvent
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.types.event import trusted_stored_event
from logicblocks.event.types.query import Query
from logicblocks.event.v1 import event_store_pb2, events_pb2, targets_pb2

from .conditions_wire import (
    condition_failure_from_wire,
    condition_from_wire,
    condition_to_wire,
    query_from_wire,
    query_to_wire,
)

__all__ = [
    "bad_request_from_wire",
    "condition_failure_from_wire",
    "condition_from_wire",
    "condition_to_wire",
    "events_with_ids",
    "pending_event_to_wire",
    "publish_request_to_wire",
    "query_from_wire",
    "query_to_wire",
    "set_timestamp",
    "stored_event_from_wire",
    "stored_events_from_receipts",
    "stored_writes_from_receipts",
    "stream_to_wire",
    "target_to_wire",
    "timestamp_fields",
    "timestamp_from_wire",
    "timestamp_to_wire",
    "writes_request_to_wire",
]


# Timestamps are converted by arithmetic on the epoch rather than with the Timestamp's own
# ToDatetime/FromDatetime, which go through time tuples and cost several times more: they
# were a sixth of the samples of a scan on either end. Both stay exact to the microsecond,
# before 1970 too (timedelta keeps days negative and seconds, microseconds positive, which
# is the Timestamp's canonical form). Anything outside the fast path's assumptions (values
# out of range, naive datetimes, non-datetimes) goes to the library, which gives its answer
# or its error as before.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86_400
_NANOS_PER_MICROSECOND = 1000
# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range a Timestamp may hold.
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799
_NANOS_PER_SECOND = 1_000_000_000


def _epoch_fields(value: datetime) -> tuple[int, int]:
    """An aware datetime as a Timestamp's seconds and nanos."""
    try:
        delta = value - _EPOCH
    except TypeError:
        # Naive (taken as UTC, as FromDatetime does) or not a datetime (its error).
        timestamp = Timestamp()
        timestamp.FromDatetime(value)
        return timestamp.seconds, timestamp.nanos
    return (
        delta.days * _SECONDS_PER_DAY + delta.seconds,
        delta.microseconds * _NANOS_PER_MICROSECOND,
    )


def set_timestamp(target: Timestamp, value: datetime) -> None:
    """Set a message's Timestamp field (``target``, in place) to an aware datetime.

    Filling the field the message already holds is cheaper than building a Timestamp (or
    a dict of its fields) to be copied into it.
    """
    target.seconds, target.nanos = _epoch_fields(value)


def timestamp_fields(value: datetime) -> dict[str, int]:
    """An aware datetime as a Timestamp's fields, for a message constructor."""
    seconds, nanos = _epoch_fields(value)
    return {"seconds": seconds, "nanos": nanos}


def _datetime(value: Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime; out-of-range values raise as ToDatetime does."""
    seconds = value.seconds
    nanos = value.nanos
    if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < _NANOS_PER_SECOND:
        return _EPOCH + timedelta(0, seconds, nanos // _NANOS_PER_MICROSECOND)
    return value.ToDatetime(tzinfo=UTC)


def timestamp_to_wire(value: datetime) -> Timestamp:
    """An aware datetime as a protobuf ``Timestamp``."""
    timestamp = Timestamp()
    set_timestamp(timestamp, value)
    return timestamp


def timestamp_from_wire(field: str, value: Timestamp) -> datetime:
    """A protobuf ``Timestamp`` as an aware UTC datetime (microseconds; nanoseconds dropped)."""
    try:
        return _datetime(value)
    except (ValueError, OverflowError):
        raise InvalidInputError(
            field, "must be a timestamp between 0001-01-01 and 9999-12-31"
        ) from None


_NO_TAGS: frozenset[str] = frozenset()


def stored_event_from_wire(event: events_pb2.StoredEvent) -> StoredEvent:
    """A wire event as the documented ``StoredEvent`` (no tags and no metadata are the
    empty set and the empty mapping, as in process)."""
    tags = event.tags
    metadata = event.metadata
    observed = event.observed_at
    occurred = event.occurred_at
    observed_at = _datetime(observed)
    return trusted_stored_event(
        event.id,
        event.name,
        event.stream,
        event.category,
        event.position,
        event.sequence_number,
        decode_payload(event.payload),
        observed_at,
        # Most events leave occurred_at to the store, which makes it the observed instant:
        # the datetime made already is that value (comparing the fields costs a third of
        # converting them again).
        observed_at
        if occurred.seconds == observed.seconds and occurred.nanos == observed.nanos
        else _datetime(occurred),
        frozenset(tags) if tags else _NO_TAGS,
        decode_payload(metadata) if metadata else None,
    )


def stored_events_from_receipts(
    target: identifier.Stream,
    events: Sequence[NewEvent],
    response: event_store_pb2.PublishResponse,
) -> list[StoredEvent]:
    """The stored events of an acknowledged publish: what was sent, plus its receipts.

    Names and payloads are the caller's own (the payload is the very mapping it passed,
    not a copy: the server stored its text byte for byte); ids, places and timestamps come
    from the receipts. An answer that does not hold one receipt per event cannot be
    matched to the events: the publish is reported as of unknown outcome.
    """
    return stored_writes_from_receipts([(target, events)], response, target=target)


def stored_writes_from_receipts(
    writes: Sequence[tuple[identifier.Stream, Sequence[NewEvent]]],
    response: event_store_pb2.PublishResponse,
    *,
    target: object = None,
) -> list[StoredEvent]:
    """The stored events of an acknowledged publish of several streams: each write's
    events, in order, with the receipts that follow one another in the answer (see
    ``stored_events_from_receipts``). ``target`` is what an error of unknown outcome names.
    """
    receipts = response.receipts
    expected = sum(len(events) for _, events in writes)
    if len(receipts) != expected:
        raise PublishOutcomeUnknownError(
            f"the server acknowledged the publish with {len(receipts)} receipts for "
            f"{expected} events; the stored events cannot be told apart",
            target=target,
        )
    stored: list[StoredEvent] = []
    offset = 0
    for stream_target, events in writes:
        stream = stream_target.stream
        category = stream_target.category
        # Not strict: the lengths were compared above, and the strict check, which asks
        # the receipts for one more, cost a one-event publish about a timestamp's
        # conversion.
        for event, receipt in zip(events, receipts[offset : offset + len(events)], strict=False):
            observed_at = _datetime(receipt.observed_at)
            occurred_at = receipt.occurred_at
            stored.append(
                trusted_stored_event(
                    receipt.id,
                    event.name,
                    stream,
                    category,
                    receipt.position,
                    receipt.sequence_number,
                    event.payload,
                    observed_at,
                    # Most events occur when observed (the default): one conversion for both.
                    observed_at if occurred_at == receipt.observed_at else _datetime(occurred_at),
                    event.tags,
                    # The caller's own mapping, as for the payload ({} when none).
                    event.metadata or None,
                )
            )
        offset += len(events)
    return stored


def pending_event_to_wire(event: PendingEvent) -> events_pb2.NewEvent:
    """A validated new event as a wire event, always carrying its id (safe retries)."""
    wire = events_pb2.NewEvent()
    _fill_new_event(wire, event)
    return wire


def publish_request_to_wire(
    target: identifier.Stream,
    events: Iterable[PendingEvent],
    conditions: Collection[WriteCondition],
) -> event_store_pb2.PublishRequest:
    """The ``Publish`` request of validated events, each built in place in the request
    (messages built apart and passed in would be copied)."""
    request = event_store_pb2.PublishRequest()
    request.target.category = target.category
    request.target.stream = target.stream
    if conditions:
        request.conditions.extend(condition_to_wire(condition) for condition in conditions)
    add = request.events.add
    for event in events:
        _fill_new_event(add(), event)
    return request


def writes_request_to_wire(
    writes: Iterable[PendingWrite], conditions: Collection[WriteCondition]
) -> event_store_pb2.PublishRequest:
    """The ``Publish`` request of a validated publish into several streams (``writes``),
    with the publish's own ``conditions``."""
    request = event_store_pb2.PublishRequest()
    if conditions:
        request.conditions.extend(condition_to_wire(condition) for condition in conditions)
    for write in writes:
        wire = request.writes.add()
        wire.target.category = write.target.category
        wire.target.stream = write.target.stream
        if write.conditions:
            wire.conditions.extend(condition_to_wire(condition) for condition in write.conditions)
        add = wire.events.add
        for event in write.events:
            _fill_new_event(add(), event)
    return request


def _fill_new_event(wire: events_pb2.NewEvent, event: PendingEvent) -> None:
    """Fill an empty wire event.

    Timestamps travel only when the caller gave them: a default one is the server's to
    fill in, so a retry made with fresh ``NewEvent``s is recognised as the same publish.
    """
    wire.id = event.id
    wire.name = event.name
    wire.payload = event.payload.encode("utf-8")
    if event.observed_at_given:
        set_timestamp(wire.observed_at, event.observed_at)
    if event.occurred_at_given:
        set_timestamp(wire.occurred_at, event.occurred_at)
    if event.tags:
        wire.tags.extend(event.tags)
    if event.metadata is not None:
        wire.metadata = event.metadata.encode("utf-8")


def events_with_ids(
    events: Sequence[NewEvent], request: event_store_pb2.PublishRequest
) -> list[NewEvent]:
    """The caller's events as ``request`` sent them, each with the id it went with.

    For retrying a publish of unknown outcome: the ids the client assigned make the retry
    the same publish; timestamps left to default stay so. For a publish of several
    streams, the events of every write, in order.
    """
    sent = (
        request.events
        if not request.writes
        else [event for write in request.writes for event in write.events]
    )
    return [
        NewEvent(
            id=wire.id,
            name=event.name,
            payload=event.payload,
            observed_at=event.observed_at if event.observed_at_given else None,
            occurred_at=event.occurred_at if event.occurred_at_given else None,
            tags=event.tags,
            metadata=event.metadata,
        )
        for event, wire in zip(events, sent, strict=True)
    ]


def stream_to_wire(target: identifier.Stream) -> targets_pb2.Stream:
    """A stream identifier on the wire."""
    return targets_pb2.Stream(category=target.category, stream=target.stream)


def target_to_wire(target: Scannable) -> targets_pb2.Target:
    """A log, category, stream or query as a wire target."""
    match target:
        case Query():
            return targets_pb2.Target(query=query_to_wire(target))
        case identifier.Log():
            return targets_pb2.Target(log=targets_pb2.Log())
        case identifier.Category(category=category):
            return targets_pb2.Target(category=targets_pb2.Category(category=category))
        case identifier.Stream():
            return targets_pb2.Target(stream=stream_to_wire(target))
    raise InvalidInputError("target", "must be a log, category, stream or query")


def bad_request_from_wire(
    message: str, details: error_details_pb2.BadRequest | None
) -> InvalidInputError:
    """The documented error for invalid input reported by a server."""
    if details is not None and details.field_violations:
        violation = details.field_violations[0]
        return InvalidInputError(violation.field, violation.description)
    # A server without details: the message reads "<field>: <rule>".
    field, _, rule = message.partition(": ")
    return InvalidInputError(field, rule) if rule else InvalidInputError("request", message)
