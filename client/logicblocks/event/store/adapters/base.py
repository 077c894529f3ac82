"""The storage adapter interface: the seam between the documented API and storage."""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence, Set
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeAlias

from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.types.query import Query

from ..conditions import WriteCondition
from ..consumer import GroupConsumer
from ..exceptions import InvalidInputError
from ..groups import GroupInfo, GroupSettings, GroupStart, GroupTarget, ParkedEvent
from ..selection import validate_query
from ..subscription import Subscription

if TYPE_CHECKING:
    from ..writes import StreamWrite

__all__ = ["Saveable", "Scannable", "StorageAdapter", "validate_scannable"]

Saveable: TypeAlias = identifier.Stream
Scannable: TypeAlias = identifier.Log | identifier.Category | identifier.Stream | Query


class StorageAdapter(ABC):
    """Stores events. ``EventStore`` and its scoped objects call nothing else.

    Guarantees every adapter gives (the contract suite checks each):
    positions in a stream run 0, 1, 2, ... and sequence numbers in the store 0, 1, 2, ...,
    both without holes, sequence numbers in commit order; a publish writes all its events
    contiguously or none; conditions are checked atomically with the write; scans return
    events in sequence-number order with bounded memory; payloads and timestamps round-trip.
    """

    @abstractmethod
    def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish ``events`` into the ``target`` stream if every condition holds.

        Raises ``UnmetWriteConditionError`` when a condition fails and
        ``InvalidInputError`` for bad input; in both cases nothing is written.
        """
        raise NotImplementedError()

    def publish(
        self,
        *,
        writes: "Sequence[StreamWrite]",
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish into several streams atomically, if every condition holds: each write's
        own (about its stream) and ``conditions`` (about queries).

        Every event is stored, numbered contiguously in the order given, or none is.
        Returns the stored events in that order. Raises ``UnmetWriteConditionError`` when a
        condition fails and ``InvalidInputError`` for bad input; then nothing is written.
        """
        raise NotImplementedError(f"{type(self).__name__} does not publish into several streams")

    @abstractmethod
    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[StoredEvent]:
        """Iterate the events of ``target`` in sequence-number order.

        With ``after_sequence_number``, only events with a greater sequence number: a reader
        that remembers the last sequence number it saw resumes there without skipping any.
        With ``since`` instead, from the first event observed at or after that time (and
        every later one in sequence-number order).
        """
        raise NotImplementedError()

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
    ) -> Subscription:
        """Follow ``target``: its history after ``after_sequence_number`` (all of it by
        default, none with ``from_end=True``, from the first event observed at or after
        ``since`` when given), then each new event as it commits.

        Raises ``InvalidInputError`` for a bad target or start.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support subscriptions")

    # Consumer groups. Each raises GroupNotFoundError for a name no group has, and
    # InvalidInputError naming the field for bad input; adapters without groups keep these.

    def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        """Create the group ``name`` following ``target`` from ``start``; returns it.

        Creating a group that exists with the same target and start returns it unchanged
        (its settings are not updated); with another, raises ``GroupExistsError``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        """Replace the group's settings (``partitions`` must stay as created); returns it."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def get_group(self, *, name: str) -> GroupInfo:
        """The group as stored, with its lag, parked count and live consumers."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def list_groups(self) -> Sequence[GroupInfo]:
        """Every group, by name."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        """Move the group to ``start``: events after it are delivered again (or skipped),
        in-flight deliveries are forgotten and parked events dropped."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def delete_group(self, *, name: str) -> None:
        """Delete the group and its state; its consumers' iterations end."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def consume_group(self, *, name: str, consumer_id: str | None = None) -> GroupConsumer:
        """Join the group as a consumer and iterate its deliveries."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        """The group's parked events, in sequence-number order: those after
        ``after_sequence_number`` (from the first when ``None``), at most ``limit`` (all
        when ``None``)."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def replay_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """Deliver parked events to the group again (all when ``sequence_numbers`` is
        ``None``); returns how many were parked and are now replaying."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """Forget parked events for good (all when ``None``); returns how many."""
        raise NotImplementedError(f"{type(self).__name__} does not support consumer groups")

    def close(self) -> None:  # noqa: B027 - optional: adapters without resources keep it
        """Release the adapter's resources (connections, pools, channels)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def validate_scannable(target: object) -> None:
    """Check the target of a scan or subscription, naming the offending field."""
    if isinstance(target, Query):
        validate_query("query", target)
        return
    if not isinstance(target, (identifier.Log, identifier.Category, identifier.Stream)):
        raise InvalidInputError("target", "must be a log, category, stream or query")
    if isinstance(target, (identifier.Category, identifier.Stream)) and (
        not isinstance(target.category, str) or target.category == ""
    ):
        raise InvalidInputError("category", "must be a non-empty string")
    if isinstance(target, identifier.Stream) and (
        not isinstance(target.stream, str) or target.stream == ""
    ):
        raise InvalidInputError("stream", "must be a non-empty string")
