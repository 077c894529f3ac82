"""Queries, write conditions and their failures on the wire, for both ends.

Split from ``wire`` (events, targets, timestamps) because conditions nest: ``all_of`` and
``any_of`` hold conditions, ``no_event_matches`` holds a query. Errors name the field by
its path from the request's root, as the in-process validators do
(``conditions[0].any_of.conditions[1].no_event_matches.query.items[0].stream``).
"""

from logicblocks.event.store.conditions import (
    AllConditions,
    AnyCondition,
    EmptyStreamCondition,
    NoEventMatchesCondition,
    PositionIsCondition,
    WriteCondition,
)
from logicblocks.event.store.exceptions import InvalidInputError, UnmetWriteConditionError
from logicblocks.event.store.names import require_name
from logicblocks.event.store.selection import validate_query
from logicblocks.event.types.query import Query, QueryItem
from logicblocks.event.v1 import conditions_pb2, targets_pb2

__all__ = [
    "condition_failure_from_wire",
    "condition_from_wire",
    "condition_to_wire",
    "query_from_wire",
    "query_to_wire",
]

_KINDS = "no_event_matches, all_of, any_of, position_is or stream_is_empty"


def query_to_wire(query: Query) -> targets_pb2.Query:
    """A query on the wire; names and tags go in code point order (they are sets)."""
    wire = targets_pb2.Query()
    for item in query.items:
        added = wire.items.add()
        if item.category is not None:
            added.category = item.category
        if item.stream is not None:
            added.stream = item.stream
        added.names.extend(sorted(item.names))
        added.tags.extend(sorted(item.tags))
    return wire


def query_from_wire(field: str, wire: targets_pb2.Query) -> Query:
    """A wire query, checked by the store's rules, naming ``field`` and its paths.

    Names and tags are checked first in the order sent, so an error's index is the one in
    the request (the query keeps them as sets).
    """
    items = []
    for index, item in enumerate(wire.items):
        for part, values in (("names", item.names), ("tags", item.tags)):
            for position, value in enumerate(values):
                require_name(f"{field}.items[{index}].{part}[{position}]", value)
        items.append(
            QueryItem(
                category=item.category if item.HasField("category") else None,
                stream=item.stream if item.HasField("stream") else None,
                names=item.names,
                tags=item.tags,
            )
        )
    return validate_query(field, Query(items=items))


def condition_to_wire(condition: WriteCondition) -> conditions_pb2.WriteCondition:
    """A write condition on the wire; only the documented conditions can cross it."""
    match condition:
        case PositionIsCondition(position=position):
            return conditions_pb2.WriteCondition(
                position_is=conditions_pb2.PositionIs(position=position)
            )
        case EmptyStreamCondition():
            return conditions_pb2.WriteCondition(stream_is_empty=conditions_pb2.StreamIsEmpty())
        case NoEventMatchesCondition(query=query, after_sequence_number=after):
            matches = conditions_pb2.NoEventMatches(query=query_to_wire(query))
            if after is not None:
                matches.after_sequence_number = after
            return conditions_pb2.WriteCondition(no_event_matches=matches)
        case AllConditions(conditions=parts):
            return conditions_pb2.WriteCondition(
                all_of=conditions_pb2.AllOf(conditions=[condition_to_wire(p) for p in parts])
            )
        case AnyCondition(conditions=parts):
            return conditions_pb2.WriteCondition(
                any_of=conditions_pb2.AnyOf(conditions=[condition_to_wire(p) for p in parts])
            )
    raise InvalidInputError("conditions", "must be write conditions of the store")


def condition_from_wire(field: str, condition: conditions_pb2.WriteCondition) -> WriteCondition:
    """A wire condition as a ``WriteCondition``, naming ``field`` (and the path within it)
    when it is malformed. Whether it may stand where it was sent (a stream's conditions or
    the publish's own) is ``validate_conditions``'s to say."""
    match condition.WhichOneof("condition"):
        case "position_is":
            position = condition.position_is.position
            if position < 0:
                raise InvalidInputError(f"{field}.position_is.position", "must be an integer >= 0")
            return PositionIsCondition(position=position)
        case "stream_is_empty":
            return EmptyStreamCondition()
        case "no_event_matches":
            return _no_event_matches_from_wire(f"{field}.no_event_matches", condition)
        case "all_of":
            return AllConditions(conditions=_parts_from_wire(f"{field}.all_of", condition.all_of))
        case "any_of":
            return AnyCondition(conditions=_parts_from_wire(f"{field}.any_of", condition.any_of))
    raise InvalidInputError(field, f"must be set to one of {_KINDS}")


def _no_event_matches_from_wire(
    path: str, condition: conditions_pb2.WriteCondition
) -> WriteCondition:
    matches = condition.no_event_matches
    if not matches.HasField("query"):
        raise InvalidInputError(f"{path}.query", "must be set to a query")
    query = query_from_wire(f"{path}.query", matches.query)
    after = matches.after_sequence_number if matches.HasField("after_sequence_number") else None
    if after is not None and after < -1:
        raise InvalidInputError(f"{path}.after_sequence_number", "must be an integer >= -1")
    return NoEventMatchesCondition(query=query, after_sequence_number=after)


def _parts_from_wire(
    path: str, combined: conditions_pb2.AllOf | conditions_pb2.AnyOf
) -> tuple[WriteCondition, ...]:
    if not combined.conditions:
        raise InvalidInputError(f"{path}.conditions", "must hold a condition")
    return tuple(
        condition_from_wire(f"{path}.conditions[{index}]", part)
        for index, part in enumerate(combined.conditions)
    )


def condition_failure_from_wire(
    message: str, failure: conditions_pb2.WriteConditionFailure
) -> UnmetWriteConditionError:
    """The documented error for an unmet condition reported by a server."""
    condition = (
        condition_from_wire("condition", failure.condition)
        if failure.HasField("condition")
        else None
    )
    return UnmetWriteConditionError(
        message,
        category=failure.category or None,
        stream=failure.stream or None,
        condition=condition,
        last_position=failure.last_position if failure.HasField("last_position") else None,
        first_match_sequence_number=failure.first_match_sequence_number
        if failure.HasField("first_match_sequence_number")
        else None,
    )
