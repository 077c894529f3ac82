"""Publishes into several streams at once: ``StreamWrite`` and its validation.

A multi-stream publish (``EventStore.publish``) is a list of ``StreamWrite``s, each a
stream with its events and its own conditions, plus conditions of the whole publish
(about queries). Everything is checked here, once, before any engine or the wire sees it.
"""

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from logicblocks.event.types import NewEvent, identifier

from .conditions import WriteCondition, validate_conditions
from .exceptions import InvalidInputError
from .names import require_name
from .publishing import PendingWrite
from .records import prepare_events

__all__ = ["StreamWrite", "prepare_writes"]


@dataclass(frozen=True)
class StreamWrite:
    """The events to append to one stream within a publish, and that stream's conditions.

    ``store.stream(category=..., stream=...).write(events=[...])`` makes one.
    """

    category: str
    stream: str
    events: Sequence[NewEvent]
    conditions: Set[WriteCondition]

    def __init__(
        self,
        *,
        category: str,
        stream: str,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ):
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "stream", stream)
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "conditions", conditions)

    @property
    def target(self) -> identifier.Stream:
        """The stream written."""
        return identifier.Stream(category=self.category, stream=self.stream)

    def __hash__(self) -> int:
        return hash((self.category, self.stream, tuple(self.events)))


def prepare_writes(
    writes: Sequence[StreamWrite], conditions: Set[WriteCondition]
) -> tuple[list[PendingWrite], Set[WriteCondition]]:
    """The writes and conditions of a multi-stream publish, checked and in the form every
    engine stores. Raises ``InvalidInputError`` naming the first offending field
    (``writes[1].events[0].name``); nothing is written then. A stream may appear once."""
    if isinstance(writes, (str, bytes, Mapping)) or not isinstance(writes, Sequence):
        raise InvalidInputError("writes", "must be a sequence of StreamWrite")
    prepared: list[PendingWrite] = []
    seen_streams: dict[tuple[str, str], int] = {}
    seen_ids: set[str] = set()
    for index, write in enumerate(writes):
        field = f"writes[{index}]."
        if not isinstance(write, StreamWrite):
            raise InvalidInputError(f"writes[{index}]", "must be a StreamWrite")
        require_name(f"{field}category", write.category)
        require_name(f"{field}stream", write.stream)
        key = (write.category, write.stream)
        if key in seen_streams:
            raise InvalidInputError(
                f"{field}stream", f"is already written by writes[{seen_streams[key]}]"
            )
        seen_streams[key] = index
        prepared.append(
            PendingWrite(
                target=write.target,
                events=prepare_events(write.events, field=field, seen_ids=seen_ids),
                conditions=validate_conditions(f"{field}conditions", write.conditions, stream=True),
                field=field,
            )
        )
    return prepared, validate_conditions("conditions", conditions, stream=False)
