"""The errors the store raises to applications."""

from typing import Any

__all__ = [
    "InvalidInputError",
    "StorageOpenError",
    "StorageUnavailableError",
    "UnmetWriteConditionError",
]


class UnmetWriteConditionError(Exception):
    """A publish's write condition did not hold; nothing was written.

    ``category`` and ``stream`` name the stream, ``condition`` the condition that failed
    and ``last_position`` the stream's actual last position (``None`` for an empty
    stream). They are ``None`` where the raiser did not know them.
    """

    def __init__(
        self,
        message: str,
        *,
        category: str | None = None,
        stream: str | None = None,
        condition: Any = None,
        last_position: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.category = category
        self.stream = stream
        self.condition = condition
        self.last_position = last_position


class InvalidInputError(ValueError):
    """A request broke a rule of the store; nothing was written.

    ``field`` names the offending field (``events[2].payload``), ``rule`` says what it must be.
    """

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class StorageUnavailableError(Exception):
    """The storage behind the store cannot be reached; the call may be retried."""


class StorageOpenError(Exception):
    """The storage cannot be opened as it is (bad path, foreign file, newer schema).

    Not worth retrying: the message says what to change. The server refuses to start on it.
    """
