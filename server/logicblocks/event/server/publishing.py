"""A ``PublishRequest`` into the writes and conditions an engine stores, for both faces.

A request is either the publish of one stream (``target``, ``events``, ``conditions``) or
of several (``writes``, each a stream with its events and conditions, plus the request's
``conditions`` about queries). Both become ``PendingWrite``s here, checked by the
in-process rules (``store.records``, ``store.conditions``) in the order ``prepare_writes``
checks them, with every error naming its field by its path in the request
(``writes[1].events[0].tags[2]``, ``conditions[0].no_event_matches.query.items[0]``).
"""

from collections.abc import Sequence, Set

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.conditions import WriteCondition, validate_conditions
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.transport.wire import condition_from_wire
from logicblocks.event.v1 import conditions_pb2, event_store_pb2

from .limits import Limits
from .wire import new_events_from_wire, publish_target_from_wire, stream_target_from_wire

__all__ = ["describe_publish", "publish_arguments"]


def publish_arguments(
    request: event_store_pb2.PublishRequest, limits: Limits
) -> tuple[list[PendingWrite], Set[WriteCondition]]:
    """The writes and the publish's own conditions of ``request``, checked against
    ``limits`` before anything is decoded. A one-stream publish is one write whose
    conditions go with it; the publish's own conditions are then empty."""
    limits.check_publish(request)
    if not request.writes:
        target = publish_target_from_wire(request)
        events = new_events_from_wire(request.events)
        conditions = _conditions_from_wire("conditions", request.conditions, stream=True)
        return [PendingWrite(target=target, events=events, conditions=conditions)], frozenset()
    if request.HasField("target"):
        raise InvalidInputError("target", "must be unset when writes is given")
    if request.events:
        raise InvalidInputError(
            "events", "must be empty when writes is given (each write carries its events)"
        )
    writes: list[PendingWrite] = []
    seen_streams: dict[tuple[str, str], int] = {}
    seen_ids: set[str] = set()
    for index, write in enumerate(request.writes):
        field = f"writes[{index}]."
        target = stream_target_from_wire(f"{field}target", write)
        key = (target.category, target.stream)
        if key in seen_streams:
            raise InvalidInputError(
                f"{field}target", f"is already written by writes[{seen_streams[key]}]"
            )
        seen_streams[key] = index
        writes.append(
            PendingWrite(
                target=target,
                events=new_events_from_wire(write.events, field=field, seen_ids=seen_ids),
                conditions=_conditions_from_wire(
                    f"{field}conditions", write.conditions, stream=True
                ),
                field=field,
            )
        )
    return writes, _conditions_from_wire("conditions", request.conditions, stream=False)


def _conditions_from_wire(
    field: str, conditions: Sequence[conditions_pb2.WriteCondition], *, stream: bool
) -> Set[WriteCondition]:
    """Wire conditions decoded, then checked as in process: ``stream`` says whether they
    go with one stream's write (else a condition about one stream is refused)."""
    if not conditions:
        return frozenset()
    decoded = [
        condition_from_wire(f"{field}[{index}]", condition)
        for index, condition in enumerate(conditions)
    ]
    return validate_conditions(field, decoded, stream=stream)


def describe_publish(request: event_store_pb2.PublishRequest) -> tuple[str, str, int]:
    """The category, stream and number of events of a publish, for its log lines; a
    publish of several streams shows its first stream and ``+n`` for the others."""
    if not request.writes:
        return request.target.category, request.target.stream, len(request.events)
    first = request.writes[0].target
    more = len(request.writes) - 1
    return (
        first.category,
        first.stream + (f" +{more}" if more else ""),
        sum(len(write.events) for write in request.writes),
    )
