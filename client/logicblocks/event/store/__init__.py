"""The event store: publish events into streams, read streams, categories and the log."""

from . import adapters, conditions
from .conditions import (
    EmptyStreamCondition,
    PositionIsCondition,
    WriteCondition,
    position_is,
    stream_is_empty,
)
from .exceptions import (
    InvalidInputError,
    StorageOpenError,
    StorageUnavailableError,
    UnmetWriteConditionError,
)
from .store import EventCategory, EventLog, EventStore, EventStream

__all__ = [
    "EmptyStreamCondition",
    "EventCategory",
    "EventLog",
    "EventStore",
    "EventStream",
    "InvalidInputError",
    "PositionIsCondition",
    "StorageOpenError",
    "StorageUnavailableError",
    "UnmetWriteConditionError",
    "WriteCondition",
    "adapters",
    "conditions",
    "position_is",
    "stream_is_empty",
]
