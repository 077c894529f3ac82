"""Write conditions: optimistic-concurrency checks made atomically with a publish."""

from abc import ABC, abstractmethod
from collections.abc import Set
from dataclasses import dataclass

from logicblocks.event.types import StoredEvent, identifier

from .exceptions import InvalidInputError, UnmetWriteConditionError

__all__ = [
    "EmptyStreamCondition",
    "PositionIsCondition",
    "WriteCondition",
    "ensure_conditions",
    "position_is",
    "stream_is_empty",
]


class WriteCondition(ABC):
    """A condition on a stream's last event that must hold for a publish to go ahead."""

    @abstractmethod
    def ensure(self, last_event: StoredEvent | None) -> None:
        """Raise ``UnmetWriteConditionError`` unless the condition holds.

        ``last_event`` is the stream's last event, ``None`` for an empty stream.
        """
        raise NotImplementedError()


@dataclass(frozen=True)
class PositionIsCondition(WriteCondition):
    """The stream's last event is at ``position``."""

    position: int

    def __post_init__(self) -> None:
        if (
            not isinstance(self.position, int)
            or isinstance(self.position, bool)
            or self.position < 0
        ):
            raise InvalidInputError("position", "must be an integer >= 0")

    def ensure(self, last_event: StoredEvent | None) -> None:
        # Compares values: the documented `is not` broke for positions above 256.
        if last_event is None or last_event.position != self.position:
            raise UnmetWriteConditionError("unexpected stream position")


@dataclass(frozen=True)
class EmptyStreamCondition(WriteCondition):
    """The stream has no events."""

    def ensure(self, last_event: StoredEvent | None) -> None:
        if last_event is not None:
            raise UnmetWriteConditionError("stream is not empty")


def position_is(position: int) -> WriteCondition:
    """A condition that the stream's last event is at ``position``."""
    return PositionIsCondition(position=position)


def stream_is_empty() -> WriteCondition:
    """A condition that the stream has no events."""
    return EmptyStreamCondition()


def ensure_conditions(
    target: identifier.Stream,
    conditions: Set[WriteCondition],
    last_event: StoredEvent | None,
) -> None:
    """Check every condition against the stream's last event.

    Raises ``UnmetWriteConditionError`` carrying the stream, the failing condition and the
    stream's actual last position, so callers (and the gRPC status details) can report them.
    """
    for condition in conditions:
        try:
            condition.ensure(last_event)
        except UnmetWriteConditionError as error:
            raise UnmetWriteConditionError(
                error.message,
                category=target.category,
                stream=target.stream,
                condition=condition,
                last_position=None if last_event is None else last_event.position,
            ) from None
