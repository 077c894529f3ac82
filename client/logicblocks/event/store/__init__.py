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
    AuthenticationError,
    ConfigurationError,
    EventStoreError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    PublishOutcomeUnknownError,
    ServerError,
    StorageFullError,
    StorageOpenError,
    StorageUnavailableError,
    UnmetWriteConditionError,
)
from .store import EventCategory, EventLog, EventStore, EventStream

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "EmptyStreamCondition",
    "EventCategory",
    "EventLog",
    "EventStore",
    "EventStoreError",
    "EventStream",
    "InvalidInputError",
    "LimitExceededError",
    "PermissionDeniedError",
    "PositionIsCondition",
    "PublishOutcomeUnknownError",
    "ServerError",
    "StorageFullError",
    "StorageOpenError",
    "StorageUnavailableError",
    "UnmetWriteConditionError",
    "WriteCondition",
    "adapters",
    "conditions",
    "position_is",
    "stream_is_empty",
]
