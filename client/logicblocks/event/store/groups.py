"""What a consumer group is and what it reports: settings, starts, info and parked events.

Values only, with the rules a request must follow (``validate_settings``,
``validate_group_name``, ``validate_start``). Errors name the field by its path in the
request (``settings.max_retries``), as every other bad input of the store does.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from .exceptions import InvalidInputError
from .names import require_name
from .start import FROM_BEGINNING, FROM_END, After, ReadStart, scan_after

__all__ = [
    "FROM_BEGINNING",
    "FROM_END",
    "MAX_PARTITIONS",
    "After",
    "GroupInfo",
    "GroupSettings",
    "GroupStart",
    "GroupTarget",
    "ParkedEvent",
    "parked_page",
    "validate_group_name",
    "validate_settings",
    "validate_start",
]

# The largest sequence number or count storage takes (a 64-bit integer).
_INT64_MAX = 2**63 - 1

# What a group follows: the same targets a subscription follows.
GroupTarget: TypeAlias = identifier.Log | identifier.Category | identifier.Stream | Query

# Where a group starts: the same three values a subscription starts from
# (``FROM_BEGINNING``, ``FROM_END``: the head when the group is created, ``After(n)``).
GroupStart = ReadStart

# Partitions are units of ownership; more than this buys no spread and costs a lease each.
MAX_PARTITIONS = 1024
MAX_RETRIES = 1000
MAX_IN_FLIGHT = 100_000
# A day: longer timeouts are mistakes (seconds taken for milliseconds), not settings.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """How a group delivers; every duration in seconds.

    Attributes:
        ack_timeout: how long a delivered event may stay unacknowledged before it counts
            as failed (and is retried, or parked).
        max_retries: how many times a failed event is delivered again before it is parked;
            an event is delivered at most ``max_retries + 1`` times.
        retry_backoff: the wait before the first retry; it doubles with each retry.
        retry_backoff_max: the longest wait before a retry.
        max_in_flight: how many unacknowledged events one consumer may hold (its credit).
        member_timeout: how long a consumer may go without asking for events or settling
            one before the group counts it gone and moves its streams to the others.
        partitions: how many parts the group's streams are spread over (a stream's events
            all fall in one); fixed when the group is created.
    """

    ack_timeout: float = 30.0
    max_retries: int = 5
    retry_backoff: float = 1.0
    retry_backoff_max: float = 60.0
    max_in_flight: int = 100
    member_timeout: float = 10.0
    partitions: int = 32

    def backoff(self, attempt: int) -> float:
        """The wait before delivering again an event whose ``attempt``-th delivery failed."""
        # The exponent is bounded first: 2**attempt of a large attempt is only capped anyway.
        doublings = min(attempt - 1, 64)
        return min(self.retry_backoff * 2.0**doublings, self.retry_backoff_max)


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    """An event the group gave up on after its retries: done for the group until replayed.

    Attributes:
        sequence_number: the event's sequence number in the store.
        event_id: the event's id.
        category: the event's category.
        stream: the event's stream.
        position: the event's position in its stream.
        partition: the group partition the stream falls in.
        reason: why its last delivery failed (the consumer's nack reason, or a timeout).
        attempts: how many times it was delivered.
        parked_at: when it was parked.
        replaying: whether an operator asked for it to be delivered again and it has not
            been settled since.
    """

    sequence_number: int
    event_id: str
    category: str
    stream: str
    position: int
    partition: int
    reason: str
    attempts: int
    parked_at: datetime
    replaying: bool = False


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A group as stored, and how far behind the head it is.

    Attributes:
        name: the group's name.
        target: what it follows: the log, a category, a stream or a query.
        start: where it started (or was last reset to).
        settings: its settings.
        lag: events of the target up to the head that the group has not yet done
            (acknowledged or parked).
        parked: how many events are parked.
        members: the ids of the consumers counted live, in order.
    """

    name: str
    target: GroupTarget
    start: GroupStart
    settings: GroupSettings
    lag: int
    parked: int
    members: tuple[str, ...]


def validate_group_name(name: object) -> str:
    """The group name, checked by the rules of every name in the store."""
    require_name("name", name)
    assert isinstance(name, str)
    return name


def parked_page(*, after_sequence_number: object, limit: object) -> tuple[int, int | None]:
    """A listing's arguments of parked events, checked: the sequence number it resumes
    after (``None``: from the first) and how many at most (``None``: all)."""
    after = scan_after(after_sequence_number)
    if after > _INT64_MAX:
        raise InvalidInputError("after_sequence_number", f"must be at most {_INT64_MAX}")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _INT64_MAX
    ):
        raise InvalidInputError("limit", f"must be an integer from 1 to {_INT64_MAX}, or None")
    return after, limit


def validate_start(start: object, field: str = "start") -> GroupStart:
    """The start, checked: ``FROM_BEGINNING``, ``FROM_END`` or ``After(n)`` with n >= -1."""
    if start is FROM_BEGINNING or start is FROM_END:
        return start
    if isinstance(start, After):
        number = start.sequence_number
        if not isinstance(number, int) or isinstance(number, bool) or number < -1:
            raise InvalidInputError(f"{field}.sequence_number", "must be an integer >= -1")
        return start
    raise InvalidInputError(field, "must be FROM_BEGINNING, FROM_END or After(sequence_number)")


def validate_settings(settings: object, field: str = "settings") -> GroupSettings:
    """The settings, checked field by field; raises ``InvalidInputError`` naming the first
    field that breaks its rule (``settings.max_retries``)."""
    if not isinstance(settings, GroupSettings):
        raise InvalidInputError(field, "must be GroupSettings")
    _seconds(f"{field}.ack_timeout", settings.ack_timeout, positive=True)
    _count(f"{field}.max_retries", settings.max_retries, 0, MAX_RETRIES)
    _seconds(f"{field}.retry_backoff", settings.retry_backoff, positive=False)
    _seconds(f"{field}.retry_backoff_max", settings.retry_backoff_max, positive=False)
    if settings.retry_backoff_max < settings.retry_backoff:
        raise InvalidInputError(
            f"{field}.retry_backoff_max", "must be at least settings.retry_backoff"
        )
    _count(f"{field}.max_in_flight", settings.max_in_flight, 1, MAX_IN_FLIGHT)
    _seconds(f"{field}.member_timeout", settings.member_timeout, positive=True)
    _count(f"{field}.partitions", settings.partitions, 1, MAX_PARTITIONS)
    return settings


def _seconds(field: str, value: object, *, positive: bool) -> None:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
        or value > MAX_SECONDS
    ):
        bound = "greater than 0" if positive else "at least 0"
        raise InvalidInputError(field, f"must be a number of seconds {bound}, at most a day")


def _count(field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInputError(field, f"must be an integer from {low} to {high}")
