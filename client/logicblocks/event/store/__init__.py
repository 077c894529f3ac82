"""The event store: publish events into streams, read streams, categories and the log."""

from . import adapters, conditions, groups
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
from .consumer import Delivery, GroupConsumer
from .consumer_group import ConsumerGroup
from .exceptions import (
    AuthenticationError,
    ConfigurationError,
    EventStoreError,
    GroupExistsError,
    GroupNotFoundError,
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
    "ConsumerGroup",
    "Delivery",
    "EmptyStreamCondition",
    "EventCategory",
    "EventLog",
    "EventQuery",
    "EventStore",
    "EventStoreError",
    "EventStream",
    "GroupConsumer",
    "GroupExistsError",
    "GroupNotFoundError",
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
    "groups",
    "no_event_matches",
    "position_is",
    "stream_is_empty",
]
