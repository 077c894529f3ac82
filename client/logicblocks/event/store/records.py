"""Events on their way into and out of storage, with payloads as JSON text.

Every backend stores and returns payloads as the JSON text made by ``payloads``, so a
payload comes back equal to what was published whichever backend holds it, and the server
can pass stored payloads to the wire without decoding them. Here: the records themselves,
the checks of names, ids and timestamps, and the recognition of retried publishes.
"""

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.types.event import trusted_stored_event

from .exceptions import InvalidInputError
from .payloads import decode_payload, encode_payload

__all__ = [
    "MAX_NAME_BYTES",
    "EventRecord",
    "PendingEvent",
    "check_event_identity",
    "new_event_ids",
    "number_events",
    "prepare_events",
    "resolve_retry",
    "trusted_event_record",
    "trusted_pending_event",
    "validate_target",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A validated new event: id assigned, payload encoded, timestamps in UTC.

    ``observed_at_given`` and ``occurred_at_given`` say whether the publisher sent the
    timestamp or it was filled in by default (a clock): only sent ones identify the event
    when a publish is recognised as a retry (``resolve_retry``).
    """

    id: str
    name: str
    payload: str
    observed_at: datetime
    occurred_at: datetime
    id_chosen_by_client: bool
    observed_at_given: bool = True
    occurred_at_given: bool = True


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event with its payload still as JSON text."""

    id: str
    name: str
    stream: str
    category: str
    position: int
    sequence_number: int
    payload: str
    observed_at: datetime
    occurred_at: datetime

    def to_stored_event(self) -> StoredEvent:
        """Decode into the documented ``StoredEvent``."""
        return trusted_stored_event(
            self.id,
            self.name,
            self.stream,
            self.category,
            self.position,
            self.sequence_number,
            decode_payload(self.payload),
            self.observed_at,
            self.occurred_at,
        )


_new_object = object.__new__


def _made_without_init(cls: type[_T], fields: Sequence[str]) -> Callable[..., _T]:
    """A maker of ``cls`` from its ``fields``' values, in order, that skips ``__init__``.

    For frozen slotted dataclasses built once per event: the slots' own setters do what
    the generated frozen ``__init__`` does through ``object.__setattr__``, in half the time.
    """
    setters = tuple(getattr(cls, field).__set__ for field in fields)

    def make(*values: object) -> _T:
        made: _T = _new_object(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(made, value)
        return made

    return make


trusted_pending_event: Callable[
    [str, str, str, datetime, datetime, bool, bool, bool], PendingEvent
] = _made_without_init(
    PendingEvent,
    (
        "id",
        "name",
        "payload",
        "observed_at",
        "occurred_at",
        "id_chosen_by_client",
        "observed_at_given",
        "occurred_at_given",
    ),
)
"""A ``PendingEvent`` from checked values, in field order, made without ``__init__``."""


def new_event_ids(count: int) -> Iterator[str]:
    """Up to ``count`` random (version 4) UUIDs as text, the ids of events published
    without one, made when the first is asked for.

    What ``str(uuid.uuid4())`` gives, from the same source (``os.urandom``) read once for
    all of them: a read costs as much as formatting dozens of ids, and the ``UUID`` object
    twice that again.
    """
    raw = bytearray(os.urandom(16 * count))
    for start in range(0, len(raw), 16):
        raw[start + 6] = raw[start + 6] & 0x0F | 0x40  # version 4
        raw[start + 8] = raw[start + 8] & 0x3F | 0x80  # the RFC 4122 variant
    text = raw.hex()
    for start in range(0, len(text), 32):
        yield (
            f"{text[start : start + 8]}-{text[start + 8 : start + 12]}-"
            f"{text[start + 12 : start + 16]}-{text[start + 16 : start + 20]}-"
            f"{text[start + 20 : start + 32]}"
        )


# The slots' own setters: a frozen dataclass's __setattr__ refuses, these do not.
(
    _set_id,
    _set_name,
    _set_stream,
    _set_category,
    _set_position,
    _set_sequence_number,
    _set_payload,
    _set_observed_at,
    _set_occurred_at,
) = (
    getattr(EventRecord, field).__set__
    for field in (
        "id",
        "name",
        "stream",
        "category",
        "position",
        "sequence_number",
        "payload",
        "observed_at",
        "occurred_at",
    )
)


def trusted_event_record(
    id: str,
    name: str,
    stream: str,
    category: str,
    position: int,
    sequence_number: int,
    payload: str,
    observed_at: datetime,
    occurred_at: datetime,
) -> EventRecord:
    """An ``EventRecord`` from values a backend read back, made without ``__init__``.

    For read paths that make one per row: the generated frozen ``__init__`` costs about
    three times as much. The result is an ordinary ``EventRecord``.
    """
    record: EventRecord = _new_object(EventRecord)
    _set_id(record, id)
    _set_name(record, name)
    _set_stream(record, stream)
    _set_category(record, category)
    _set_position(record, position)
    _set_sequence_number(record, sequence_number)
    _set_payload(record, payload)
    _set_observed_at(record, observed_at)
    _set_occurred_at(record, occurred_at)
    return record


def _require_name(field: str, value: object) -> None:
    if not isinstance(value, str) or value == "":
        raise InvalidInputError(field, "must be a non-empty string")
    _require_storable(field, value)


# The longest name (category, stream, event name, id) any backend stores alike: two of
# them plus a position must fit one PostgreSQL index entry (at most 2,704 bytes).
MAX_NAME_BYTES = 1024


def _require_storable(field: str, text: str) -> None:
    """Reject names no backend can store alike: NUL (PostgreSQL text cannot hold it), lone
    surrogates (not UTF-8 at all) and names longer than ``MAX_NAME_BYTES``."""
    if "\x00" in text:
        raise InvalidInputError(field, "must not contain NUL (U+0000)")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    if size > MAX_NAME_BYTES:
        raise InvalidInputError(field, f"must be at most {MAX_NAME_BYTES} bytes in UTF-8")


def validate_target(target: object) -> identifier.Stream:
    """Check that a publish targets one stream with non-empty names."""
    if not isinstance(target, identifier.Stream):
        raise InvalidInputError("target", "must be a stream identifier")
    _require_name("category", target.category)
    _require_name("stream", target.stream)
    return target


def _utc(field: str, value: object) -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # what astimezone(UTC) would give, without making it again
    if not isinstance(value, datetime):
        raise InvalidInputError(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field, "must be timezone-aware")
    return value.astimezone(UTC)


def prepare_events(events: Iterable[NewEvent]) -> list[PendingEvent]:
    """Validate new events and put them in the form every backend stores.

    Raises ``InvalidInputError`` naming the first offending field; nothing is written then.
    """
    if isinstance(events, (str, bytes, Mapping)):
        raise InvalidInputError("events", "must be a sequence of NewEvent")
    if not isinstance(events, Sequence):
        events = list(events)
    fresh_ids = new_event_ids(len(events))
    prepared: list[PendingEvent] = []
    seen_ids: set[str] = set()
    for index, event in enumerate(events):
        if not isinstance(event, NewEvent):
            raise InvalidInputError(f"events[{index}]", "must be a NewEvent")
        check_event_identity(index, event.name, event.id, seen_ids)
        prepared.append(
            trusted_pending_event(
                event.id if event.id is not None else next(fresh_ids),
                event.name,
                encode_payload(f"events[{index}].payload", event.payload),
                _utc(f"events[{index}].observed_at", event.observed_at),
                _utc(f"events[{index}].occurred_at", event.occurred_at),
                event.id is not None,
                event.observed_at_given,
                event.occurred_at_given,
            )
        )
    return prepared


def check_event_identity(index: int, name: str, id: str | None, seen_ids: set[str]) -> None:
    """Check the name and id (if any) of the publish's event ``index``; ids must not repeat
    within the publish, and ``seen_ids`` collects them.

    Every publish, in process or over the wire, checks its events' names and ids here, so
    the rules and the fields named in errors are the same.
    """
    _require_name(f"events[{index}].name", name)
    if id is not None:
        _require_name(f"events[{index}].id", id)
        if id in seen_ids:
            raise InvalidInputError(f"events[{index}].id", "must be unique within the publish")
        seen_ids.add(id)


def number_events(
    target: identifier.Stream,
    events: Sequence[PendingEvent],
    *,
    last_position: int | None,
    head: int,
) -> list[EventRecord]:
    """The records of ``events`` appended to ``target``: positions after the stream's
    ``last_position`` (``None``: empty), sequence numbers after the store's ``head`` (-1:
    empty), both contiguous. Every engine numbers a publish here, under its write lock."""
    first_position = 0 if last_position is None else last_position + 1
    return [
        trusted_event_record(
            event.id,
            event.name,
            target.stream,
            target.category,
            first_position + offset,
            head + 1 + offset,
            event.payload,
            event.observed_at,
            event.occurred_at,
        )
        for offset, event in enumerate(events)
    ]


def resolve_retry(
    target: identifier.Stream,
    events: Sequence[PendingEvent],
    found: Mapping[str, EventRecord],
) -> Sequence[EventRecord] | None:
    """Decide whether a publish repeats one that was already stored.

    ``found`` maps those ids of ``events`` that already exist anywhere in the store to
    their records (a backend looks them up inside its write transaction). When every event
    is stored in the target stream, as the same event, the publish is a retry and its
    records are returned (conditions are not checked again: they held when it was first
    written). When none is stored, ``None``: write as usual. Anything else cannot come
    from a retry and raises ``InvalidInputError`` naming the event: an id used in another
    stream or by a different event, or a publish only partly stored (publishes are
    atomic, so a retry is all or nothing).

    "The same event" is judged on what the publisher sent, as ``events.proto`` states:
    the name, the payload text, and each timestamp only when it was sent
    (``observed_at_given``, ``occurred_at_given``). A timestamp filled in by default (the
    server's clock, or "now" in a fresh ``NewEvent``) differs on every attempt and so
    cannot tell a retry from another event.
    """
    if not found:
        return None
    key = (target.category, target.stream)
    matched: list[EventRecord] = []
    for index, event in enumerate(events):
        record = found.get(event.id)
        if record is None:
            continue
        if (record.category, record.stream) != key:
            raise InvalidInputError(
                f"events[{index}].id", "is already used by an event in another stream"
            )
        if (
            record.name != event.name
            or record.payload != event.payload
            or (event.observed_at_given and record.observed_at != event.observed_at)
            or (event.occurred_at_given and record.occurred_at != event.occurred_at)
        ):
            raise InvalidInputError(
                f"events[{index}].id", "is already used by a different event in this stream"
            )
        matched.append(record)
    if len(matched) == len(events):
        return matched
    for index, event in enumerate(events):
        if event.id in found:
            raise InvalidInputError(
                f"events[{index}].id",
                "is already stored in this stream while other events of the publish are not",
            )
    return None
