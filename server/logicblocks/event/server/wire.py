"""The server's half of the wire: requests into domain values, results into messages.

The conversions both ends need (timestamps, targets, conditions, error details read back)
are in ``logicblocks.event.transport.wire``; these are the ones only the server makes.
Payloads cross as the UTF-8 bytes of the JSON text every backend stores: the server never
decodes them on the way out.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from logicblocks.event.store.adapters.base import Scannable, validate_scannable
from logicblocks.event.store.exceptions import InvalidInputError, UnmetWriteConditionError
from logicblocks.event.store.payloads import validate_payload_text
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    check_event_identity,
    new_event_ids,
    trusted_pending_event,
    validate_target,
)
from logicblocks.event.store.selection import validate_tags
from logicblocks.event.transport.wire import (
    condition_to_wire,
    query_from_wire,
    set_timestamp,
    timestamp_from_wire,
)
from logicblocks.event.types import identifier
from logicblocks.event.v1 import conditions_pb2, event_store_pb2, events_pb2, targets_pb2

__all__ = [
    "bad_request_to_wire",
    "condition_failure_to_wire",
    "fill_stored_event",
    "new_events_from_wire",
    "publish_response",
    "publish_target_from_wire",
    "read_target_from_wire",
    "record_to_receipt",
    "record_to_wire",
    "stream_from_wire",
    "stream_target_from_wire",
    "target_from_wire",
]


def record_to_wire(record: EventRecord) -> events_pb2.StoredEvent:
    """A stored record as a wire event; its JSON text passes through undecoded."""
    wire = events_pb2.StoredEvent()
    fill_stored_event(wire, record)
    return wire


def fill_stored_event(wire: events_pb2.StoredEvent, record: EventRecord) -> None:
    """Fill ``wire`` (a new message, or one in place in a response) with ``record``."""
    wire.id = record.id
    wire.name = record.name
    wire.stream = record.stream
    wire.category = record.category
    wire.position = record.position
    wire.sequence_number = record.sequence_number
    wire.payload = record.payload.encode("utf-8")
    set_timestamp(wire.observed_at, record.observed_at)
    set_timestamp(wire.occurred_at, record.occurred_at)
    if record.tags:
        wire.tags.extend(record.tags)
    if record.metadata is not None:
        wire.metadata = record.metadata.encode("utf-8")


def record_to_receipt(record: EventRecord) -> event_store_pb2.PublishResponse.Receipt:
    """What a publisher learns of a stored record: all the store added, no payload."""
    receipt = event_store_pb2.PublishResponse.Receipt()
    _fill_receipt(receipt, record)
    return receipt


def publish_response(records: Iterable[EventRecord]) -> event_store_pb2.PublishResponse:
    """The answer to a publish: a receipt per record, each built in place in the answer."""
    response = event_store_pb2.PublishResponse()
    add = response.receipts.add
    for record in records:
        _fill_receipt(add(), record)
    return response


def _fill_receipt(receipt: event_store_pb2.PublishResponse.Receipt, record: EventRecord) -> None:
    receipt.id = record.id
    receipt.position = record.position
    receipt.sequence_number = record.sequence_number
    set_timestamp(receipt.observed_at, record.observed_at)
    set_timestamp(receipt.occurred_at, record.occurred_at)


def new_events_from_wire(
    events: Sequence[events_pb2.NewEvent], *, field: str = "", seen_ids: set[str] | None = None
) -> list[PendingEvent]:
    """Validate wire events as ``prepare_events`` validates documented ones, straight into
    the form every backend stores.

    Payload bytes go through ``validate_payload_text`` (kept as sent rather than decoded
    and re-encoded), then the timestamps, then names and ids through
    ``check_event_identity``, then tags and metadata: the rules and the fields named in
    errors are the in-process ones. A timestamp not sent is the server's clock, as a
    ``NewEvent``'s is. ``field`` prefixes the paths (``"writes[1]."``); ``seen_ids``
    collects ids across the writes of a publish.
    """
    payloads = [
        validate_payload_text(f"{field}events[{index}].payload", event.payload)
        for index, event in enumerate(events)
    ]
    timestamps = [
        _sent_timestamps(f"{field}events[{index}]", event) for index, event in enumerate(events)
    ]
    fresh_ids = new_event_ids(len(events))
    prepared: list[PendingEvent] = []
    seen = set() if seen_ids is None else seen_ids
    for index, event in enumerate(events):
        id = event.id if event.HasField("id") else None
        name = event.name
        check_event_identity(index, name, id, seen, field=field)
        observed_at, occurred_at = timestamps[index]
        observed = datetime.now(UTC) if observed_at is None else observed_at
        prepared.append(
            trusted_pending_event(
                next(fresh_ids) if id is None else id,
                name,
                payloads[index],
                observed,
                observed if occurred_at is None else occurred_at,
                id is not None,
                observed_at is not None,
                occurred_at is not None,
                # A list in the order sent, so an error's index is the request's.
                validate_tags(f"{field}events[{index}].tags", list(event.tags))
                if event.tags
                else (),
                _metadata_from_wire(f"{field}events[{index}].metadata", event.metadata),
            )
        )
    return prepared


def _metadata_from_wire(field: str, metadata: bytes) -> str | None:
    """Wire metadata as the JSON object text stored, ``None`` for none (no bytes, or an
    empty object, as in process)."""
    if not metadata:
        return None
    text = validate_payload_text(field, metadata)
    # Only a short text can be an empty object: the rest is never decoded.
    if len(text) <= _EMPTY_OBJECT_MAX and not text.strip(_JSON_SPACE)[1:-1].strip(_JSON_SPACE):
        return None
    return text


# Enough for "{}" with JSON whitespace around and inside it; the characters of that space.
_EMPTY_OBJECT_MAX = 64
_JSON_SPACE = " \t\n\r"


def _sent_timestamps(
    path: str, event: events_pb2.NewEvent
) -> tuple[datetime | None, datetime | None]:
    """The timestamps a wire event carries (``None``: not sent), as aware UTC datetimes."""
    return (
        timestamp_from_wire(f"{path}.observed_at", event.observed_at)
        if event.HasField("observed_at")
        else None,
        timestamp_from_wire(f"{path}.occurred_at", event.occurred_at)
        if event.HasField("occurred_at")
        else None,
    )


def stream_from_wire(target: targets_pb2.Stream) -> identifier.Stream:
    """A wire stream as an identifier (names are checked by the storage adapter)."""
    return identifier.Stream(category=target.category, stream=target.stream)


def target_from_wire(target: targets_pb2.Target) -> Scannable:
    """A wire target as an identifier or a query; exactly one of its kinds must be set."""
    match target.WhichOneof("target"):
        case "query":
            return query_from_wire("target.query", target.query)
        case "log":
            return identifier.Log()
        case "category":
            return identifier.Category(category=target.category.category)
        case "stream":
            return stream_from_wire(target.stream)
    raise InvalidInputError("target", _TARGET_KINDS)


_TARGET_KINDS = "must be set to one of log, category, stream or query"


def _at_path(error: InvalidInputError, paths: Mapping[str, str]) -> InvalidInputError:
    """``error`` naming the field of an in-process rule by its path in the request.

    The store's rules name fields as the Python API has them (``category``); a gRPC
    client needs the path from the request's root (``target.stream.category``), as
    ``google.rpc.BadRequest`` defines it.
    """
    path = paths.get(error.field)
    return error if path is None else InvalidInputError(path, error.rule)


_PUBLISH_TARGET_PATHS = {"category": "target.category", "stream": "target.stream"}


def publish_target_from_wire(request: event_store_pb2.PublishRequest) -> identifier.Stream:
    """The stream a publish targets, checked by the store's rules, named by request path."""
    if not request.HasField("target"):
        raise InvalidInputError("target", "must be set to a stream")
    try:
        return validate_target(stream_from_wire(request.target))
    except InvalidInputError as error:
        raise _at_path(error, _PUBLISH_TARGET_PATHS) from None


def stream_target_from_wire(field: str, write: event_store_pb2.StreamWrite) -> identifier.Stream:
    """The stream of one write of a publish of several streams, checked by the store's
    rules and named by its path (``writes[1].target.stream``)."""
    if not write.HasField("target"):
        raise InvalidInputError(field, "must be set to a stream")
    try:
        return validate_target(stream_from_wire(write.target))
    except InvalidInputError as error:
        paths = {"category": f"{field}.category", "stream": f"{field}.stream"}
        raise _at_path(error, paths) from None


def read_target_from_wire(target: targets_pb2.Target, *, is_set: bool) -> Scannable:
    """The log, category, stream or query a scan or subscription reads, checked and named
    by request path."""
    if not is_set:
        raise InvalidInputError("target", _TARGET_KINDS)
    scannable = target_from_wire(target)
    kind = target.WhichOneof("target")
    if kind == "query":
        return scannable  # checked, with its paths, as it was read
    try:
        validate_scannable(scannable)
    except InvalidInputError as error:
        paths = {"category": f"target.{kind}.category", "stream": "target.stream.stream"}
        raise _at_path(error, paths) from None
    return scannable


def condition_failure_to_wire(
    error: UnmetWriteConditionError,
) -> conditions_pb2.WriteConditionFailure:
    """The machine-readable details of an unmet condition."""
    failure = conditions_pb2.WriteConditionFailure(
        category=error.category or "", stream=error.stream or ""
    )
    if error.condition is not None:
        failure.condition.CopyFrom(condition_to_wire(error.condition))
    if error.last_position is not None:
        failure.last_position = error.last_position
    if error.first_match_sequence_number is not None:
        failure.first_match_sequence_number = error.first_match_sequence_number
    return failure


def bad_request_to_wire(error: InvalidInputError) -> error_details_pb2.BadRequest:
    """Invalid input as the standard ``google.rpc.BadRequest`` details."""
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.rule)
        ]
    )
