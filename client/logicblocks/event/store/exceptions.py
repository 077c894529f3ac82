"""The errors the store raises to applications: one hierarchy rooted at ``EventStoreError``.

Each error's docstring says what is certain when it is raised by a publish: whether
nothing was written, or whether the outcome is unknown (``PublishOutcomeUnknownError``).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logicblocks.event.types import NewEvent

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "EventStoreError",
    "GroupExistsError",
    "GroupNotFoundError",
    "InvalidInputError",
    "LimitExceededError",
    "PermissionDeniedError",
    "PublishOutcomeUnknownError",
    "ServerError",
    "StorageFullError",
    "StorageOpenError",
    "StorageUnavailableError",
    "UnmetWriteConditionError",
]


class EventStoreError(Exception):
    """The root of every error the store raises; catch it to catch them all."""


class UnmetWriteConditionError(EventStoreError):
    """A publish's write condition did not hold; nothing was written.

    ``category`` and ``stream`` name the stream whose condition failed (``None`` for a
    condition of the whole publish), ``condition`` the condition, ``last_position`` the
    stream's actual last position (``None`` for an empty stream) and
    ``first_match_sequence_number`` the sequence number of the first event matching a
    failed query condition. They are ``None`` where they do not apply or the raiser did
    not know them.
    """

    def __init__(
        self,
        message: str,
        *,
        category: str | None = None,
        stream: str | None = None,
        condition: Any = None,
        last_position: int | None = None,
        first_match_sequence_number: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.category = category
        self.stream = stream
        self.condition = condition
        self.last_position = last_position
        self.first_match_sequence_number = first_match_sequence_number


class InvalidInputError(EventStoreError, ValueError):
    """A request broke a rule of the store; nothing was written. Certain: do not retry as is.

    ``field`` names the offending field (``events[2].payload``), ``rule`` says what it must be.
    """

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class StorageUnavailableError(EventStoreError):
    """The storage behind the store, or the server, cannot be reached; retry later.

    From a read: nothing was delivered past what the iteration already yielded. From a
    publish, this error itself does not say whether anything was written: the gRPC
    clients raise its subclass ``PublishOutcomeUnknownError`` for every failure that may
    come after the write, and a retry with the same ids is safe either way.
    """


class PublishOutcomeUnknownError(StorageUnavailableError):
    """A publish may or may not have been stored: its answer was lost.

    Raised for failures that can come after the write (a deadline, a cancelled call, the
    server or connection lost, an unexpected server error, an answer over the client's
    receive limit), once the client's own retries are spent. Nothing is known about the
    outcome: all of the events may be stored, or none (never some: publishes are atomic).

    Publish ``events`` again to ``target``: each carries the id it was sent with, so the
    retry writes them if the first publish did not and otherwise returns the stored
    events, never storing one twice. ``ids`` lists those ids in order.
    """

    def __init__(
        self,
        message: str,
        *,
        target: Any = None,
        events: Sequence["NewEvent"] = (),
    ):
        super().__init__(message)
        self.target = target
        self.events = tuple(events)
        self.ids = tuple(event.id for event in self.events)


class LimitExceededError(EventStoreError):
    """A server limit refused the call (gRPC ``RESOURCE_EXHAUSTED`` from the server).

    Certain: nothing was written, nothing read. Limits on load (too many subscriptions or
    calls at once) clear as others finish: retry later, with backoff. The message names
    the limit.
    """


class StorageFullError(LimitExceededError):
    """The storage has no room for the write (a full disk); nothing was written.

    Certain, like every ``LimitExceededError``; retrying helps only once space is freed.
    Over gRPC it arrives as ``LimitExceededError`` (``RESOURCE_EXHAUSTED``, "storage full").
    """


class AuthenticationError(EventStoreError):
    """The server did not accept the credentials (``UNAUTHENTICATED``): no token, or a
    token it does not know. Certain: nothing was written. Retrying with the same token
    fails the same way."""


class PermissionDeniedError(EventStoreError):
    """The token is known but may not do this (``PERMISSION_DENIED``), such as a read-only
    token publishing. Certain: nothing was written."""


class ServerError(EventStoreError):
    """The server failed the call in a way the documented API has no other name for.

    ``code`` is the gRPC status name (``INTERNAL``, ``UNIMPLEMENTED``, ``UNKNOWN``, ...).
    From a read it says nothing more was delivered. A publish raises it only when nothing
    was written (``UNIMPLEMENTED``: the server does not serve publishes); other failures
    of a publish raise ``PublishOutcomeUnknownError``.
    """

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class ConfigurationError(EventStoreError, ValueError):
    """A client, adapter or server was configured wrongly (arguments that contradict each
    other, an unusable token or URL, a value out of range). Raised when it is made, before
    any call. ``field`` names the setting when one is to blame (``url``), else ``None``.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class StorageOpenError(EventStoreError):
    """The storage cannot be opened as it is (bad path, foreign file, newer schema).

    Not worth retrying: the message says what to change. The server refuses to start on it.
    """


class GroupNotFoundError(EventStoreError):
    """No consumer group has this name (gRPC ``NOT_FOUND``). Certain: nothing changed."""

    def __init__(self, name: str):
        super().__init__(f"no consumer group named {name!r}")
        self.name = name


class GroupExistsError(EventStoreError):
    """A group of this name exists with another target or start (gRPC ``ALREADY_EXISTS``).

    Creating a group that exists as asked is not an error (it returns the group), so a
    service may create its group every time it starts. Certain: nothing changed.
    """

    def __init__(self, name: str):
        super().__init__(f"a consumer group named {name!r} exists with another target or start")
        self.name = name
