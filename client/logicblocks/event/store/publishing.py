"""A publish as every engine carries it out, under its write lock, without the I/O.

A publish is a list of ``PendingWrite``s (one per stream) and conditions of its own. An
engine looks up which of its event ids are already stored and asks
``resolve_retry_writes`` whether it repeats a stored publish; if not, judges its conditions
(``check_publish``) in a ``ConditionState`` answered from its storage, then numbers it
(``number_writes``) and stores the records.
"""

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from logicblocks.event.types import identifier

from .conditions import ConditionState, WriteCondition, check_conditions
from .exceptions import InvalidInputError
from .records import EventRecord, PendingEvent, number_events

__all__ = [
    "PendingWrite",
    "check_publish",
    "number_writes",
    "resolve_retry",
    "resolve_retry_writes",
]


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One stream's part of a publish, validated: its events and its own conditions.

    ``field`` is the path of the write in the request (``""`` for a one-stream publish,
    ``"writes[1]."`` for a stream of a multi-stream one), so errors name their fields as
    the caller sent them.
    """

    target: identifier.Stream
    events: Sequence[PendingEvent]
    conditions: Set[WriteCondition] = frozenset()
    field: str = ""


def number_writes(
    writes: Sequence[PendingWrite], state: ConditionState, *, head: int
) -> list[EventRecord]:
    """The records of a publish's ``writes``: each stream's events after its last position
    in ``state``, sequence numbers after ``head`` contiguous across the writes in the order
    given. Every engine numbers a publish here, under its write lock, once its conditions
    held (``check_publish``)."""
    records: list[EventRecord] = []
    for write in writes:
        records.extend(
            number_events(
                write.target,
                write.events,
                last_position=state.last_position(write.target),
                head=head + len(records),
            )
        )
    return records


def check_publish(
    writes: Sequence[PendingWrite], conditions: Set[WriteCondition], state: ConditionState
) -> None:
    """Judge every condition of a publish, its streams' and its own, in ``state`` (as the
    store is before the publish). Raises ``UnmetWriteConditionError`` for the first that
    fails."""
    check_conditions(
        [*((write.target, write.conditions) for write in writes), (None, conditions)], state
    )


def resolve_retry(
    target: identifier.Stream,
    events: Sequence[PendingEvent],
    found: Mapping[str, EventRecord],
) -> Sequence[EventRecord] | None:
    """``resolve_retry_writes`` for a publish into one stream."""
    return resolve_retry_writes([PendingWrite(target=target, events=events)], found)


def resolve_retry_writes(
    writes: Sequence[PendingWrite],
    found: Mapping[str, EventRecord],
) -> Sequence[EventRecord] | None:
    """Decide whether a publish repeats one that was already stored.

    ``found`` maps those ids of the writes' events that already exist anywhere in the
    store to their records (a backend looks them up inside its write transaction). When
    every event is stored in its write's stream, as the same event, the publish is a retry
    and its records are returned in the publish's order (conditions are not checked again:
    they held when it was first written). When none is stored, ``None``: write as usual.
    Anything else cannot come from a retry and raises ``InvalidInputError`` naming the
    event: an id used in another stream or by a different event, or a publish only partly
    stored (publishes are atomic, so a retry is all or nothing).

    "The same event" is judged on what the publisher sent, as ``events.proto`` states:
    the name, the payload text, the tags, the metadata text, and each timestamp only when
    it was sent (``observed_at_given``, ``occurred_at_given``). A timestamp filled in by
    default (the server's clock, or "now" in a fresh ``NewEvent``) differs on every
    attempt and so cannot tell a retry from another event.
    """
    if not found:
        return None
    matched: list[EventRecord] = []
    total = 0
    for write in writes:
        key = (write.target.category, write.target.stream)
        total += len(write.events)
        for index, event in enumerate(write.events):
            record = found.get(event.id)
            if record is None:
                continue
            field = f"{write.field}events[{index}].id"
            if (record.category, record.stream) != key:
                raise InvalidInputError(field, "is already used by an event in another stream")
            if (
                record.name != event.name
                or record.payload != event.payload
                or record.tags != event.tags
                or record.metadata != event.metadata
                or (event.observed_at_given and record.observed_at != event.observed_at)
                or (event.occurred_at_given and record.occurred_at != event.occurred_at)
            ):
                raise InvalidInputError(
                    field, "is already used by a different event in this stream"
                )
            matched.append(record)
    if len(matched) == total:
        return matched
    for write in writes:
        for index, event in enumerate(write.events):
            if event.id in found:
                raise InvalidInputError(
                    f"{write.field}events[{index}].id",
                    "is already stored in this stream while other events of the publish are not",
                )
    return None
