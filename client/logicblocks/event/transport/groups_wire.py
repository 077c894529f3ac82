"""Consumer groups on the wire, for both ends: settings, starts, groups and parked events.

The server reads requests with the ``*_from_wire`` functions that take a ``field`` (they
check by the store's rules and name the field by its path in the request) and answers
with the ``*_to_wire`` ones; the clients do the reverse. Durations travel as
``google.protobuf.Duration`` and are seconds (a float) on both sides.
"""

from google.protobuf.duration_pb2 import Duration

from logicblocks.event.store.exceptions import InvalidInputError
from logicblocks.event.store.groups import (
    FROM_BEGINNING,
    FROM_END,
    After,
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
    validate_settings,
)
from logicblocks.event.types import identifier
from logicblocks.event.v1 import consumer_groups_pb2, targets_pb2

from .conditions_wire import query_from_wire
from .wire import set_timestamp, target_to_wire, timestamp_from_wire

__all__ = [
    "PARKED_PAGE",
    "group_from_wire",
    "group_to_wire",
    "parked_event_from_wire",
    "parked_event_to_wire",
    "settings_from_wire",
    "settings_to_wire",
    "start_from_wire",
    "start_to_wire",
]

# The most parked events one ListParkedEventsResponse carries (the contract's page).
PARKED_PAGE = 1000
_NANOS_PER_SECOND = 1_000_000_000
_DEFAULTS = GroupSettings()


def _duration(seconds: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(round(seconds * _NANOS_PER_SECOND))
    return duration


def _seconds(duration: Duration) -> float:
    # Not ToTimedelta(): durations beyond timedelta's range raise OverflowError there, and
    # the rules of validate_settings already say what an out-of-range one must be.
    return duration.seconds + duration.nanos / _NANOS_PER_SECOND


def settings_to_wire(settings: GroupSettings) -> consumer_groups_pb2.GroupSettings:
    """Settings on the wire, every field set (so the other end needs no defaults)."""
    return consumer_groups_pb2.GroupSettings(
        ack_timeout=_duration(settings.ack_timeout),
        max_retries=settings.max_retries,
        retry_backoff=_duration(settings.retry_backoff),
        retry_backoff_max=_duration(settings.retry_backoff_max),
        max_in_flight=settings.max_in_flight,
        member_timeout=_duration(settings.member_timeout),
        partitions=settings.partitions,
    )


def settings_from_wire(
    field: str,
    wire: consumer_groups_pb2.GroupSettings,
    *,
    partitions: int | None = None,
) -> GroupSettings:
    """Wire settings, unset fields at their defaults, checked (errors name
    ``{field}.max_retries``). ``partitions`` replaces the default of an unset
    ``partitions`` (an update keeps the group's)."""
    default_partitions = _DEFAULTS.partitions if partitions is None else partitions
    return validate_settings(
        GroupSettings(
            ack_timeout=_seconds(wire.ack_timeout)
            if wire.HasField("ack_timeout")
            else _DEFAULTS.ack_timeout,
            max_retries=wire.max_retries if wire.HasField("max_retries") else _DEFAULTS.max_retries,
            retry_backoff=_seconds(wire.retry_backoff)
            if wire.HasField("retry_backoff")
            else _DEFAULTS.retry_backoff,
            retry_backoff_max=_seconds(wire.retry_backoff_max)
            if wire.HasField("retry_backoff_max")
            else _DEFAULTS.retry_backoff_max,
            max_in_flight=wire.max_in_flight
            if wire.HasField("max_in_flight")
            else _DEFAULTS.max_in_flight,
            member_timeout=_seconds(wire.member_timeout)
            if wire.HasField("member_timeout")
            else _DEFAULTS.member_timeout,
            partitions=wire.partitions if wire.HasField("partitions") else default_partitions,
        ),
        field,
    )


def start_to_wire(start: GroupStart) -> consumer_groups_pb2.GroupStart:
    """A start on the wire."""
    wire = consumer_groups_pb2.GroupStart()
    if isinstance(start, After):
        wire.after_sequence_number = start.sequence_number
    elif start == FROM_END:
        wire.end.SetInParent()
    else:
        wire.beginning.SetInParent()
    return wire


def start_from_wire(field: str, wire: consumer_groups_pb2.GroupStart) -> GroupStart:
    """A wire start, checked: exactly one kind set, and ``after_sequence_number >= -1``."""
    match wire.WhichOneof("start"):
        case "beginning":
            return FROM_BEGINNING
        case "end":
            return FROM_END
        case "after_sequence_number":
            if wire.after_sequence_number < -1:
                raise InvalidInputError(f"{field}.after_sequence_number", "must be >= -1")
            return After(wire.after_sequence_number)
    raise InvalidInputError(field, "must be set to one of beginning, end or after_sequence_number")


def _target_from_wire(target: targets_pb2.Target) -> GroupTarget:
    """What a group the server reported follows."""
    match target.WhichOneof("target"):
        case "category":
            return identifier.Category(category=target.category.category)
        case "stream":
            return identifier.Stream(category=target.stream.category, stream=target.stream.stream)
        case "query":
            return query_from_wire("group.target.query", target.query)
    return identifier.Log()


def group_to_wire(info: GroupInfo) -> consumer_groups_pb2.Group:
    """A group as the server reports it."""
    return consumer_groups_pb2.Group(
        name=info.name,
        target=target_to_wire(info.target),
        start=start_to_wire(info.start),
        settings=settings_to_wire(info.settings),
        lag=info.lag,
        parked=info.parked,
        members=[consumer_groups_pb2.GroupMember(consumer_id=member) for member in info.members],
    )


def group_from_wire(wire: consumer_groups_pb2.Group) -> GroupInfo:
    """A group the server reported, as the documented ``GroupInfo``."""
    return GroupInfo(
        name=wire.name,
        target=_target_from_wire(wire.target),
        start=start_from_wire("group.start", wire.start)
        if wire.start.WhichOneof("start")
        else FROM_BEGINNING,
        # The server sets every field; a field it left out means its default here too.
        settings=settings_from_wire("group.settings", wire.settings),
        lag=wire.lag,
        parked=wire.parked,
        members=tuple(member.consumer_id for member in wire.members),
    )


def parked_event_to_wire(parked: ParkedEvent) -> consumer_groups_pb2.ParkedEvent:
    """A parked event as the server reports it."""
    wire = consumer_groups_pb2.ParkedEvent(
        sequence_number=parked.sequence_number,
        event_id=parked.event_id,
        category=parked.category,
        stream=parked.stream,
        position=parked.position,
        partition=parked.partition,
        reason=parked.reason,
        attempts=parked.attempts,
        replaying=parked.replaying,
    )
    set_timestamp(wire.parked_at, parked.parked_at)
    return wire


def parked_event_from_wire(wire: consumer_groups_pb2.ParkedEvent) -> ParkedEvent:
    """A parked event the server reported."""
    return ParkedEvent(
        sequence_number=wire.sequence_number,
        event_id=wire.event_id,
        category=wire.category,
        stream=wire.stream,
        position=wire.position,
        partition=wire.partition,
        reason=wire.reason,
        attempts=wire.attempts,
        parked_at=timestamp_from_wire("parked_at", wire.parked_at),
        replaying=wire.replaying,
    )
