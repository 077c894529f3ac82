"""Events: the new events an application publishes and the stored events it reads."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clock import Clock, SystemClock
from .json_text import dumps

__all__ = ["NewEvent", "StoredEvent"]

_SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class NewEvent:
    """An event to publish.

    ``observed_at`` defaults to now (from ``clock``), ``occurred_at`` to ``observed_at``.
    ``id`` is optional: when given, it must be unique in the store, and publishing an event
    whose id is already stored in the same stream returns the stored event instead of
    writing it again, which makes retrying a publish safe.

    ``observed_at_given`` and ``occurred_at_given`` say whether the caller chose the
    timestamp (passing it, or for ``observed_at`` a ``clock`` of its own) or left it to the
    default. A default timestamp is not part of the event's identity: a retry made with a
    fresh ``NewEvent`` (another "now") is still the same event, and over gRPC the server's
    clock supplies it. They take no part in equality.

    ``tags`` are short strings that index the event for queries (``"course:c1"``);
    ``metadata`` is a JSON object about the event rather than the domain (correlation and
    causation ids, a ``traceparent``), stored and returned exactly like the payload. Both
    are optional: an event without them reads back with no tags and ``{}``.
    """

    name: str
    payload: Mapping[str, Any]
    observed_at: datetime
    occurred_at: datetime
    id: str | None
    tags: frozenset[str] = field(default=frozenset(), init=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, init=False)
    observed_at_given: bool = field(default=True, init=False, compare=False, repr=False)
    occurred_at_given: bool = field(default=True, init=False, compare=False, repr=False)

    def __init__(
        self,
        *,
        name: str,
        payload: Mapping[str, Any],
        observed_at: datetime | None = None,
        occurred_at: datetime | None = None,
        clock: Clock = _SYSTEM_CLOCK,
        id: str | None = None,
        tags: Iterable[str] = frozenset(),
        metadata: Mapping[str, Any] | None = None,
    ):
        object.__setattr__(
            self, "observed_at_given", observed_at is not None or clock is not _SYSTEM_CLOCK
        )
        object.__setattr__(self, "occurred_at_given", occurred_at is not None)
        if observed_at is None:
            observed_at = clock.now(UTC)
        if occurred_at is None:
            occurred_at = observed_at

        object.__setattr__(self, "name", name)
        object.__setattr__(self, "payload", payload)
        object.__setattr__(self, "observed_at", observed_at)
        object.__setattr__(self, "occurred_at", occurred_at)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "tags", _tag_set(tags))
        object.__setattr__(self, "metadata", {} if metadata is None else metadata)

    def json(self) -> str:
        fields: dict[str, Any] = {
            "name": self.name,
            "payload": self.payload,
            "observedAt": self.observed_at.isoformat(),
            "occurredAt": self.occurred_at.isoformat(),
        }
        if self.id is not None:
            fields["id"] = self.id
        _add_tags_and_metadata(fields, self.tags, self.metadata)
        return dumps(fields, sort_keys=True)

    def __repr__(self) -> str:
        return (
            f"NewEvent("
            f"name={self.name}, "
            f"payload={dict(self.payload)}, "
            f"observed_at={self.observed_at}, "
            f"occurred_at={self.occurred_at}"
            f"{_tags_and_metadata_repr(self.tags, self.metadata)})"
        )

    def __hash__(self) -> int:
        return hash(self.json())


def _tag_set(tags: Iterable[str]) -> frozenset[str]:
    # A lone string is one tag, not its characters.
    if isinstance(tags, frozenset):
        return tags
    return frozenset((tags,) if isinstance(tags, str) else tags)


def _add_tags_and_metadata(
    fields: dict[str, Any], tags: frozenset[str], metadata: Mapping[str, Any]
) -> None:
    # Only when present: an event without them has the JSON (and hash) it always had.
    if tags:
        fields["tags"] = sorted(tags)
    if metadata:
        fields["metadata"] = metadata


def _tags_and_metadata_repr(tags: frozenset[str], metadata: Mapping[str, Any]) -> str:
    text = f", tags={sorted(tags)}" if tags else ""
    return text + (f", metadata={dict(metadata)}" if metadata else "")


@dataclass(frozen=True)
class StoredEvent:
    """An event as the store holds it, with its place in its stream and in the log."""

    id: str
    name: str
    stream: str
    category: str
    position: int
    sequence_number: int
    payload: Mapping[str, Any]
    observed_at: datetime
    occurred_at: datetime
    tags: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        *,
        id: str,
        name: str,
        stream: str,
        category: str,
        position: int,
        sequence_number: int,
        payload: Mapping[str, Any],
        observed_at: datetime,
        occurred_at: datetime,
        tags: Iterable[str] = frozenset(),
        metadata: Mapping[str, Any] | None = None,
    ):
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "stream", stream)
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "sequence_number", sequence_number)
        object.__setattr__(self, "payload", payload)
        object.__setattr__(self, "observed_at", observed_at)
        object.__setattr__(self, "occurred_at", occurred_at)
        object.__setattr__(self, "tags", _tag_set(tags))
        object.__setattr__(self, "metadata", {} if metadata is None else metadata)

    def json(self) -> str:
        fields: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "stream": self.stream,
            "category": self.category,
            "position": self.position,
            "sequence_number": self.sequence_number,
            "payload": self.payload,
            "observedAt": self.observed_at.isoformat(),
            "occurredAt": self.occurred_at.isoformat(),
        }
        _add_tags_and_metadata(fields, self.tags, self.metadata)
        return dumps(fields, sort_keys=True)

    def __repr__(self) -> str:
        return (
            f"StoredEvent("
            f"id={self.id}, "
            f"name={self.name}, "
            f"stream={self.stream}, "
            f"category={self.category}, "
            f"position={self.position}, "
            f"sequence_number={self.sequence_number}, "
            f"payload={dict(self.payload)}, "
            f"observed_at={self.observed_at}, "
            f"occurred_at={self.occurred_at}"
            f"{_tags_and_metadata_repr(self.tags, self.metadata)})"
        )

    def __hash__(self) -> int:
        return hash(self.json())


_NO_TAGS: frozenset[str] = frozenset()

_new_object = object.__new__


def trusted_stored_event(
    id: str,
    name: str,
    stream: str,
    category: str,
    position: int,
    sequence_number: int,
    payload: Mapping[str, Any],
    observed_at: datetime,
    occurred_at: datetime,
    tags: frozenset[str] = _NO_TAGS,
    metadata: Mapping[str, Any] | None = None,
) -> StoredEvent:
    """A ``StoredEvent`` from values the store itself produced, made without ``__init__``.

    For the read paths, which make one per event: filling the instance dictionary directly
    costs a fifth of ``StoredEvent(...)`` with its nine ``object.__setattr__`` calls. The
    result is the same object in every respect (fields, equality, hash, repr, pickling).
    Not part of the documented API: applications construct ``StoredEvent`` as usual.
    """
    event: StoredEvent = _new_object(StoredEvent)
    # Item by item, in field order: the dictionary then shares its keys with every other
    # StoredEvent's, as one filled by __init__ does (update() would make a larger one).
    fields = event.__dict__
    fields["id"] = id
    fields["name"] = name
    fields["stream"] = stream
    fields["category"] = category
    fields["position"] = position
    fields["sequence_number"] = sequence_number
    fields["payload"] = payload
    fields["observed_at"] = observed_at
    fields["occurred_at"] = occurred_at
    fields["tags"] = tags
    fields["metadata"] = {} if metadata is None else metadata
    return event
