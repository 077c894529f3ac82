"""Where a read begins: at the first event, at the current end, or after a sequence number.

The documented API takes ``after_sequence_number`` (``None``: from the beginning) and, for
subscriptions, ``from_end``. They are turned into one ``ReadStart`` value here, once, and
everything below the API (engines, the wire, the server) deals in that value or in the
plain sequence number a read resumes after. There is no ``None`` with two meanings.
"""

from dataclasses import dataclass
from typing import TypeAlias

from .exceptions import InvalidInputError

__all__ = [
    "FROM_BEGINNING",
    "FROM_END",
    "NO_EVENTS",
    "After",
    "FromBeginning",
    "FromEnd",
    "ReadStart",
    "StartBeyondHeadError",
    "read_start",
    "scan_after",
    "start_after",
]

# The head of a store that holds no event, and the sequence number a read from the first
# event resumes after: sequence numbers start at 0, so "after -1" is exactly "everything".
NO_EVENTS = -1


@dataclass(frozen=True, slots=True)
class FromBeginning:
    """From the first event of the target."""


@dataclass(frozen=True, slots=True)
class FromEnd:
    """From the head as it is when the read starts: only events committed later."""


@dataclass(frozen=True, slots=True)
class After:
    """From the first event with a greater sequence number (exclusive)."""

    sequence_number: int


ReadStart: TypeAlias = FromBeginning | FromEnd | After

FROM_BEGINNING = FromBeginning()
FROM_END = FromEnd()


class StartBeyondHeadError(InvalidInputError):
    """A subscription was asked to start after a sequence number the store has not reached.

    Starting there would skip, unseen, every event up to it once written: the checkpoint
    comes from another store, or from before a backup was restored.
    """

    def __init__(self, after_sequence_number: int, head: int):
        super().__init__(
            "after_sequence_number",
            f"{after_sequence_number} is beyond the head of the store ({head}): a checkpoint "
            "from another store or from before a restore?",
        )
        self.head = head


def read_start(*, after_sequence_number: object = None, from_end: bool = False) -> ReadStart:
    """The documented start arguments as one value, refusing bad ones by name."""
    if after_sequence_number is not None and (
        not isinstance(after_sequence_number, int)
        or isinstance(after_sequence_number, bool)
        or after_sequence_number < NO_EVENTS
    ):
        raise InvalidInputError("after_sequence_number", "must be an integer >= -1")
    if from_end:
        if after_sequence_number is not None:
            raise InvalidInputError(
                "after_sequence_number", "cannot be given together with from_end=True"
            )
        return FROM_END
    if after_sequence_number is None:
        return FROM_BEGINNING
    return After(after_sequence_number)


def scan_after(after_sequence_number: object) -> int:
    """The sequence number a scan resumes after, from the documented argument.

    A scan past the head is no error: it finds nothing, as the head was when it began.
    """
    start = read_start(after_sequence_number=after_sequence_number)
    return start.sequence_number if isinstance(start, After) else NO_EVENTS


def start_after(start: ReadStart, head: int) -> int:
    """The sequence number a subscription from ``start`` resumes after, given the head.

    ``head`` is the store's last sequence number (``NO_EVENTS`` when empty). A start beyond
    it raises ``StartBeyondHeadError``: following from there would skip, unseen, every
    event up to it.
    """
    match start:
        case FromBeginning():
            return NO_EVENTS
        case FromEnd():
            return head
        case After(sequence_number=after):
            if after > head:
                raise StartBeyondHeadError(after, head)
            return after
