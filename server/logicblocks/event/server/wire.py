"""The server's half of the wire: requests into domain values, results into messages.

The conversions both ends need (timestamps, targets, conditions, error details read back)
are in ``logicblocks.event.transport.wire``; these are the ones only the server makes.
Payloads cross as the UTF-8 bytes of the JSON text every backend stores: the server never
decodes them on the way out.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from logicblocks.event.store.adapters.base import Scannable, validate_scannable
from logicblocks.event.store.conditions import EmptyStreamCondition, PositionIsCondition
from logicblocks.event.store.exceptions import InvalidInputError, UnmetWriteConditionError
from logicblocks.event.store.payloads import validate_payload_text
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    prepare_events_with_payload_texts,
    validate_target,
)
from logicblocks.event.transport.wire import (
    condition_to_wire,
    timestamp_fields,
    timestamp_from_wire,
)
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import conditions_pb2, event_store_pb2, events_pb2, targets_pb2

__all__ = [
    "bad_request_to_wire",
    "condition_failure_to_wire",
    "new_events_from_wire",
    "publish_target_from_wire",
    "read_target_from_wire",
    "record_to_receipt",
    "record_to_wire",
    "stream_from_wire",
    "target_from_wire",
]

# Stands in for the payloads of wire events, which travel as checked text beside them.
_NO_PAYLOAD: dict[str, object] = {}


def record_to_wire(record: EventRecord) -> events_pb2.StoredEvent:
    """A stored record as a wire event; its JSON text passes through undecoded."""
    return events_pb2.StoredEvent(
        id=record.id,
        name=record.name,
        stream=record.stream,
        category=record.category,
        position=record.position,
        sequence_number=record.sequence_number,
        payload=record.payload.encode("utf-8"),
        observed_at=timestamp_fields(record.observed_at),
        occurred_at=timestamp_fields(record.occurred_at),
    )


def record_to_receipt(record: EventRecord) -> event_store_pb2.PublishResponse.Receipt:
    """What a publisher learns of a stored record: all the store added, no payload."""
    return event_store_pb2.PublishResponse.Receipt(
        id=record.id,
        position=record.position,
        sequence_number=record.sequence_number,
        observed_at=timestamp_fields(record.observed_at),
        occurred_at=timestamp_fields(record.occurred_at),
    )


def new_events_from_wire(events: Iterable[events_pb2.NewEvent]) -> list[PendingEvent]:
    """Validate wire events as ``prepare_events`` validates documented ones.

    Payload bytes go through ``validate_payload_text`` (kept as sent rather than decoded
    and re-encoded), then names, ids and timestamps through
    ``prepare_events_with_payload_texts``, so the rules and the field names in errors are
    the in-process ones.
    """
    events = list(events)
    payloads = [
        validate_payload_text(f"events[{index}].payload", event.payload)
        for index, event in enumerate(events)
    ]
    documented = [
        NewEvent(
            id=event.id if event.HasField("id") else None,
            name=event.name,
            payload=_NO_PAYLOAD,
            observed_at=(
                timestamp_from_wire(f"events[{index}].observed_at", event.observed_at)
                if event.HasField("observed_at")
                else None
            ),
            occurred_at=(
                timestamp_from_wire(f"events[{index}].occurred_at", event.occurred_at)
                if event.HasField("occurred_at")
                else None
            ),
        )
        for index, event in enumerate(events)
    ]
    return prepare_events_with_payload_texts(documented, payloads)


def stream_from_wire(target: targets_pb2.Stream) -> identifier.Stream:
    """A wire stream as an identifier (names are checked by the storage adapter)."""
    return identifier.Stream(category=target.category, stream=target.stream)


def target_from_wire(target: targets_pb2.Target) -> Scannable:
    """A wire target as an identifier; exactly one of its kinds must be set."""
    match target.WhichOneof("target"):
        case "log":
            return identifier.Log()
        case "category":
            return identifier.Category(category=target.category.category)
        case "stream":
            return stream_from_wire(target.stream)
    raise InvalidInputError("target", "must be set to one of log, category or stream")


@contextmanager
def _fields_at(paths: Mapping[str, str]) -> Iterator[None]:
    """Name the fields of in-process rules by their paths in the request.

    The store's rules name fields as the Python API has them (``category``); a gRPC
    client needs the path from the request's root (``target.stream.category``), as
    ``google.rpc.BadRequest`` defines it.
    """
    try:
        yield
    except InvalidInputError as error:
        path = paths.get(error.field)
        if path is None:
            raise
        raise InvalidInputError(path, error.rule) from None


def publish_target_from_wire(request: event_store_pb2.PublishRequest) -> identifier.Stream:
    """The stream a publish targets, checked by the store's rules, named by request path."""
    if not request.HasField("target"):
        raise InvalidInputError("target", "must be set to a stream")
    with _fields_at({"category": "target.category", "stream": "target.stream"}):
        return validate_target(stream_from_wire(request.target))


def read_target_from_wire(target: targets_pb2.Target, *, is_set: bool) -> Scannable:
    """The log, category or stream a scan or subscription reads, checked and named by
    request path."""
    if not is_set:
        raise InvalidInputError("target", "must be set to one of log, category or stream")
    scannable = target_from_wire(target)
    kind = target.WhichOneof("target")
    with _fields_at({"category": f"target.{kind}.category", "stream": "target.stream.stream"}):
        validate_scannable(scannable)
    return scannable


def condition_failure_to_wire(
    error: UnmetWriteConditionError,
) -> conditions_pb2.WriteConditionFailure:
    """The machine-readable details of an unmet condition."""
    failure = conditions_pb2.WriteConditionFailure(
        category=error.category or "", stream=error.stream or ""
    )
    if isinstance(error.condition, (PositionIsCondition, EmptyStreamCondition)):
        failure.condition.CopyFrom(condition_to_wire(error.condition))
    if error.last_position is not None:
        failure.last_position = error.last_position
    return failure


def bad_request_to_wire(error: InvalidInputError) -> error_details_pb2.BadRequest:
    """Invalid input as the standard ``google.rpc.BadRequest`` details."""
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.rule)
        ]
    )
