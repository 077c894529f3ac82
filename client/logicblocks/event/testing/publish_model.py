"""A reference model of publishing: the store reduced to a list of events, written plainly.

Tests decide each publish with the model and compare with what a real adapter decided;
concurrent tests replay the adapter's committed publishes through the model in sequence
order to check that each one's conditions held where it landed (serializability). The
model interprets condition values itself, apart from the store's own judging code, so a
shared mistake cannot hide.
"""

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from logicblocks.event.store.conditions import (
    AllConditions,
    AnyCondition,
    EmptyStreamCondition,
    NoEventMatchesCondition,
    PositionIsCondition,
    WriteCondition,
)
from logicblocks.event.types import StoredEvent
from logicblocks.event.types.query import Query, QueryItem

__all__ = ["ModelEvent", "ModelWrite", "PublishModel"]


@dataclass(frozen=True)
class ModelEvent:
    """What the model keeps of an event."""

    category: str
    stream: str
    name: str
    tags: frozenset[str]

    @classmethod
    def of(cls, event: StoredEvent) -> "ModelEvent":
        return cls(event.category, event.stream, event.name, frozenset(event.tags))


@dataclass(frozen=True)
class ModelWrite:
    """One stream's part of a publish: its events (names and tags) and conditions."""

    category: str
    stream: str
    events: Sequence[tuple[str, frozenset[str]]]
    conditions: Set[WriteCondition] = frozenset()


class PublishModel:
    """The events of a store after ``start`` (the sequence number before the first)."""

    def __init__(self, *, start: int = -1, events: Iterable[ModelEvent] = ()) -> None:
        self.start = start
        self.events = list(events)

    def last_position(self, category: str, stream: str) -> int | None:
        count = sum(1 for e in self.events if (e.category, e.stream) == (category, stream))
        return count - 1 if count else None

    def first_match(self, query: Query, after: int) -> int | None:
        """The sequence number of the first event after ``after`` that ``query`` selects."""
        for offset, event in enumerate(self.events):
            number = self.start + 1 + offset
            if number > after and any(_selects(item, event) for item in query.items):
                return number
        return None

    def holds(self, condition: WriteCondition, stream: tuple[str, str] | None) -> bool:
        """Whether ``condition`` (of ``stream``'s write, or of the publish) holds now."""
        match condition:
            case AllConditions(conditions=parts):
                return all(self.holds(part, stream) for part in parts)
            case AnyCondition(conditions=parts):
                return any(self.holds(part, stream) for part in parts)
            case NoEventMatchesCondition(query=query, after_sequence_number=after):
                return self.first_match(query, -1 if after is None else after) is None
            case PositionIsCondition(position=position):
                assert stream is not None
                return self.last_position(*stream) == position
            case EmptyStreamCondition():
                assert stream is not None
                return self.last_position(*stream) is None
        raise TypeError(f"not a condition the model knows: {condition!r}")

    def admits(self, writes: Sequence[ModelWrite], conditions: Set[WriteCondition]) -> bool:
        """Whether every condition of the publish holds now."""
        return all(self.holds(c, None) for c in conditions) and all(
            self.holds(c, (w.category, w.stream)) for w in writes for c in w.conditions
        )

    def publish(self, writes: Sequence[ModelWrite], conditions: Set[WriteCondition]) -> bool:
        """Store the publish if its conditions hold, as the store must; say whether it did."""
        if not self.admits(writes, conditions):
            return False
        for write in writes:
            self.events += [
                ModelEvent(write.category, write.stream, name, tags) for name, tags in write.events
            ]
        return True


def _selects(item: QueryItem, event: ModelEvent) -> bool:
    return (
        (item.category is None or item.category == event.category)
        and (item.stream is None or item.stream == event.stream)
        and (not item.names or event.name in item.names)
        and item.tags <= event.tags
    )
