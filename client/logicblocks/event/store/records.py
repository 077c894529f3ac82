"""Events on their way into and out of storage, with payloads as JSON text.

Every backend stores and returns payloads as the JSON text made by ``payloads``, so a
payload comes back equal to what was published whichever backend holds it, and the server
can pass stored payloads to the wire without decoding them. Here: the records themselves,
the checks of names, ids and timestamps, and the numbering of a stream's new events.
"""

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.types.event import trusted_stored_event

from .exceptions import InvalidInputError
from .names import MAX_NAME_BYTES, require_name
from .payloads import decode_payload, encode_payload
from .selection import validate_tags

__all__ = [
    "MAX_NAME_BYTES",
    "EventRecord",
    "PendingEvent",
    "check_event_identity",
    "new_event_ids",
    "number_events",
    "prepare_events",
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
    when a publish is recognised as a retry (``resolve_retry``). ``tags`` are checked,
    without repeats, in code point order; ``metadata`` is JSON object text, ``None`` for
    none (an empty object is none).
    """

    id: str
    name: str
    payload: str
    observed_at: datetime
    occurred_at: datetime
    id_chosen_by_client: bool
    observed_at_given: bool = True
    occurred_at_given: bool = True
    tags: tuple[str, ...] = ()
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event with its payload (and metadata) still as JSON text.

    ``tags`` are in code point order, as stored; ``metadata`` is ``None`` for none.
    """

    id: str
    name: str
    stream: str
    category: str
    position: int
    sequence_number: int
    payload: str
    observed_at: datetime
    occurred_at: datetime
    tags: tuple[str, ...] = ()
    metadata: str | None = None

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
            frozenset(self.tags) if self.tags else _NO_TAGS,
            None if self.metadata is None else decode_payload(self.metadata),
        )


_NO_TAGS: frozenset[str] = frozenset()
_NO_TAG_TUPLE: tuple[str, ...] = ()


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


_make_pending_event: Callable[..., PendingEvent] = _made_without_init(
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
        "tags",
        "metadata",
    ),
)


def trusted_pending_event(
    id: str,
    name: str,
    payload: str,
    observed_at: datetime,
    occurred_at: datetime,
    id_chosen_by_client: bool,
    observed_at_given: bool,
    occurred_at_given: bool,
    tags: tuple[str, ...] = _NO_TAG_TUPLE,
    metadata: str | None = None,
) -> PendingEvent:
    """A ``PendingEvent`` from checked values, in field order, made without ``__init__``."""
    return _make_pending_event(
        id,
        name,
        payload,
        observed_at,
        occurred_at,
        id_chosen_by_client,
        observed_at_given,
        occurred_at_given,
        tags,
        metadata,
    )


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
    _set_tags,
    _set_metadata,
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
        "tags",
        "metadata",
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
    tags: tuple[str, ...] = _NO_TAG_TUPLE,
    metadata: str | None = None,
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
    _set_tags(record, tags)
    _set_metadata(record, metadata)
    return record


def validate_target(target: object) -> identifier.Stream:
    """Check that a publish targets one stream with non-empty names."""
    if not isinstance(target, identifier.Stream):
        raise InvalidInputError("target", "must be a stream identifier")
    require_name("category", target.category)
    require_name("stream", target.stream)
    return target


def _utc(field: str, value: object) -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # what astimezone(UTC) would give, without making it again
    if not isinstance(value, datetime):
        raise InvalidInputError(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field, "must be timezone-aware")
    return value.astimezone(UTC)


def prepare_events(
    events: Iterable[NewEvent], *, field: str = "", seen_ids: set[str] | None = None
) -> list[PendingEvent]:
    """Validate new events and put them in the form every backend stores.

    ``field`` prefixes the paths named in errors (``"writes[1]."`` for a stream of a
    multi-stream publish); ``seen_ids`` collects ids across a publish's streams, which must
    not repeat either. Raises ``InvalidInputError`` naming the first offending field;
    nothing is written then.
    """
    if isinstance(events, (str, bytes, Mapping)):
        raise InvalidInputError(f"{field}events", "must be a sequence of NewEvent")
    if not isinstance(events, Sequence):
        events = list(events)
    fresh_ids = new_event_ids(len(events))
    prepared: list[PendingEvent] = []
    seen = set() if seen_ids is None else seen_ids
    for index, event in enumerate(events):
        path = f"{field}events[{index}]"
        if not isinstance(event, NewEvent):
            raise InvalidInputError(path, "must be a NewEvent")
        check_event_identity(index, event.name, event.id, seen, field=field)
        prepared.append(
            trusted_pending_event(
                event.id if event.id is not None else next(fresh_ids),
                event.name,
                encode_payload(f"{path}.payload", event.payload),
                _utc(f"{path}.observed_at", event.observed_at),
                _utc(f"{path}.occurred_at", event.occurred_at),
                event.id is not None,
                event.observed_at_given,
                event.occurred_at_given,
                validate_tags(f"{path}.tags", event.tags) if event.tags else _NO_TAG_TUPLE,
                encode_payload(f"{path}.metadata", event.metadata) if event.metadata else None,
            )
        )
    return prepared


def check_event_identity(
    index: int, name: str, id: str | None, seen_ids: set[str], *, field: str = ""
) -> None:
    """Check the name and id (if any) of the publish's event ``index``; ids must not repeat
    within the publish, and ``seen_ids`` collects them.

    Every publish, in process or over the wire, checks its events' names and ids here, so
    the rules and the fields named in errors are the same.
    """
    require_name(f"{field}events[{index}].name", name)
    if id is not None:
        require_name(f"{field}events[{index}].id", id)
        if id in seen_ids:
            raise InvalidInputError(
                f"{field}events[{index}].id", "must be unique within the publish"
            )
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
            event.tags,
            event.metadata,
        )
        for offset, event in enumerate(events)
    ]
