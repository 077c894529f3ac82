"""The event store: publish events into streams, read streams, categories and the log."""

from . import adapters, conditions
from .conditions import (
    AllConditions,
    AnyCondition,
    EmptyStreamCondition,
    NoEventMatchesCondition,
    PositionIsCondition,
    WriteCondition,
    no_event_matches,
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
from .store import EventCategory, EventLog, EventQuery, EventStore, EventStream
from .writes import StreamWrite

__all__ = [
    "AllConditions",
    "AnyCondition",
    "AuthenticationError",
    "ConfigurationError",
    "EmptyStreamCondition",
    "EventCategory",
    "EventLog",
    "EventQuery",
    "EventStore",
    "EventStoreError",
    "EventStream",
    "InvalidInputError",
    "LimitExceededError",
    "NoEventMatchesCondition",
    "PermissionDeniedError",
    "PositionIsCondition",
    "PublishOutcomeUnknownError",
    "ServerError",
    "StorageFullError",
    "StorageOpenError",
    "StorageUnavailableError",
    "StreamWrite",
    "UnmetWriteConditionError",
    "WriteCondition",
    "adapters",
    "conditions",
    "no_event_matches",
    "position_is",
    "stream_is_empty",
]
