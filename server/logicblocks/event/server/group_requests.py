"""Consumer group requests into checked arguments, each bad field named by its path.

The rules are the store's (``logicblocks.event.store.groups``, ``names``) plus the
server's limits on names; only the paths are the wire's (``join.group``,
``start.after_sequence_number``).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.groups import (
    FROM_BEGINNING,
    MAX_IN_FLIGHT,
    GroupSettings,
    GroupStart,
    GroupTarget,
    parked_page,
)
from logicblocks.event.store.names import require_name
from logicblocks.event.transport.groups_wire import (
    PARKED_PAGE,
    settings_from_wire,
    start_from_wire,
)
from logicblocks.event.v1 import consumer_groups_pb2

from .arguments import read_target
from .limits import Limits

__all__ = [
    "MAX_CREDIT",
    "MAX_REASON_CHARACTERS",
    "CreateArguments",
    "Join",
    "create_arguments",
    "credit_count",
    "group_name",
    "join_arguments",
    "parked_arguments",
    "parked_listing",
    "reset_start",
    "selected_sequence_numbers",
    "update_settings",
]

# Unspent credit a consumer may hold: as many deliveries as a consumer may hold unsettled
# at most, so credit never promises more than the group could hand out.
MAX_CREDIT = MAX_IN_FLIGHT
# A nack's reason is kept with a parked event; a stack trace is cut rather than refused.
MAX_REASON_CHARACTERS = 1000


def group_name(field: str, value: str, limits: Limits) -> str:
    """A group's name, by the rules of every name in the store and the server's limit."""
    require_name(field, value)
    limits.check_name(field, value)
    return value


@dataclass(frozen=True, slots=True)
class CreateArguments:
    """What ``CreateGroup`` asks for, checked."""

    name: str
    target: GroupTarget
    start: GroupStart
    settings: GroupSettings


def create_arguments(
    request: consumer_groups_pb2.CreateGroupRequest, limits: Limits
) -> CreateArguments:
    """The name, target, start (unset: the beginning) and settings (unset: the
    defaults) of a group to create."""
    return CreateArguments(
        name=group_name("name", request.name, limits),
        target=read_target(request.target, is_set=request.HasField("target"), limits=limits),
        start=start_from_wire("start", request.start)
        if request.HasField("start")
        else FROM_BEGINNING,
        settings=settings_from_wire("settings", request.settings),
    )


def update_settings(
    request: consumer_groups_pb2.UpdateGroupRequest, partitions: int | None
) -> GroupSettings:
    """The settings replacing a group's whole; an unset ``partitions`` keeps the group's
    (``partitions``, read by the caller only when unset), a set one must equal it (the
    engine says so if not)."""
    return settings_from_wire("settings", request.settings, partitions=partitions)


def reset_start(request: consumer_groups_pb2.ResetGroupRequest) -> GroupStart:
    """Where a reset group starts: required, never a default."""
    if not request.HasField("start"):
        raise InvalidInputError(
            "start", "must be set to one of beginning, end or after_sequence_number"
        )
    return start_from_wire("start", request.start)


def selected_sequence_numbers(sequence_numbers: Sequence[int], all: bool) -> list[int] | None:
    """The parked events a replay or drop names (``None``: all of them): exactly one of
    ``sequence_numbers`` and ``all``, since an empty list must not mean everything."""
    if all and sequence_numbers:
        raise InvalidInputError("all", "cannot be set together with sequence_numbers")
    if all:
        return None
    if not sequence_numbers:
        raise InvalidInputError(
            "sequence_numbers", "must list at least one sequence number, or set all"
        )
    for index, number in enumerate(sequence_numbers):
        if number < 0:
            raise InvalidInputError(f"sequence_numbers[{index}]", "must be >= 0")
    return list(sequence_numbers)


@dataclass(frozen=True, slots=True)
class Join:
    """A consumer's join, checked."""

    group: str
    consumer_id: str | None
    credit: int


def join_arguments(request: consumer_groups_pb2.ConsumeRequest, limits: Limits) -> Join:
    """The first message of ``Consume``, which must be a join."""
    if request.WhichOneof("content") != "join":
        raise InvalidInputError("join", "the first message must be a join, and only the first")
    join = request.join
    consumer_id = join.consumer_id if join.HasField("consumer_id") else None
    if consumer_id is not None:
        group_name("join.consumer_id", consumer_id, limits)
    if not 1 <= join.credit <= MAX_CREDIT:
        raise InvalidInputError("join.credit", f"must be from 1 to {MAX_CREDIT}")
    return Join(
        group=group_name("join.group", join.group, limits),
        consumer_id=consumer_id,
        credit=join.credit,
    )


def credit_count(field: str, count: int, unspent: int, *, least: int = 1) -> int:
    """The credit ``count`` (request field ``field``: ``credit.count``, or ``ack.credit``
    with ``least`` 0) adds to ``unspent``, checked."""
    if count < least or unspent + count > MAX_CREDIT:
        raise InvalidInputError(
            field, f"must be at least {least}, and the unspent credit at most {MAX_CREDIT}"
        )
    return count


def parked_listing(request: consumer_groups_pb2.ListParkedEventsRequest) -> tuple[int, int]:
    """Where a page of parked events starts (unset: from the first) and how many it holds
    (0, or more than a page: a page)."""
    after = request.after_sequence_number if request.HasField("after_sequence_number") else None
    return parked_arguments(after, request.limit)


def parked_arguments(after_sequence_number: object, limit: object) -> tuple[int, int]:
    """``parked_listing`` of the values as given (an HTTP query's among them): ``None``
    after is from the first, a limit of 0 or more than a page is a page."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidInputError("limit", "must be an integer, 0 (a page) or more")
    start, _ = parked_page(after_sequence_number=after_sequence_number, limit=None)
    return start, min(limit or PARKED_PAGE, PARKED_PAGE)
