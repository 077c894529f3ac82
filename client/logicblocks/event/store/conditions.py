"""Write conditions: optimistic-concurrency checks made atomically with a publish.

The conditions are closed data: ``position_is(n)`` and ``stream_is_empty()``, the two the
wire can carry. Every engine evaluates them from the stream's last position alone, inside
its write transaction, so none has to fetch a last event (or its payload) for a condition
that might want it.
"""

from abc import ABC, abstractmethod
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

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
    """A condition on a stream's last position that must hold for a publish to go ahead.

    Closed: the kinds are the ones defined here, which every engine and the wire know.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            raise TypeError(
                "write conditions are closed: use position_is(...) or stream_is_empty()"
            )

    @abstractmethod
    def holds(self, last_position: int | None) -> bool:
        """Whether the condition holds for a stream whose last event is at
        ``last_position`` (``None`` for an empty stream)."""
        raise NotImplementedError()

    @property
    @abstractmethod
    def failure(self) -> str:
        """What an unmet condition says."""
        raise NotImplementedError()

    def ensure(self, last_event: StoredEvent | None) -> None:
        """Raise ``UnmetWriteConditionError`` unless the condition holds.

        ``last_event`` is the stream's last event, ``None`` for an empty stream.
        """
        if not self.holds(None if last_event is None else last_event.position):
            raise UnmetWriteConditionError(self.failure)


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

    def holds(self, last_position: int | None) -> bool:
        # Compares values: the documented `is not` broke for positions above 256.
        return last_position == self.position

    @property
    def failure(self) -> str:
        return "unexpected stream position"


@dataclass(frozen=True)
class EmptyStreamCondition(WriteCondition):
    """The stream has no events."""

    def holds(self, last_position: int | None) -> bool:
        return last_position is None

    @property
    def failure(self) -> str:
        return "stream is not empty"


def position_is(position: int) -> WriteCondition:
    """A condition that the stream's last event is at ``position``."""
    return PositionIsCondition(position=position)


def stream_is_empty() -> WriteCondition:
    """A condition that the stream has no events."""
    return EmptyStreamCondition()


def ensure_conditions(
    target: identifier.Stream,
    conditions: Set[WriteCondition],
    last_position: int | None,
) -> None:
    """Check every condition against the stream's last position (``None``: empty).

    Raises ``UnmetWriteConditionError`` carrying the stream, the failing condition and the
    stream's actual last position, so callers (and the gRPC status details) can report them.
    """
    for condition in conditions:
        if not condition.holds(last_position):
            raise UnmetWriteConditionError(
                condition.failure,
                category=target.category,
                stream=target.stream,
                condition=condition,
                last_position=last_position,
            )
