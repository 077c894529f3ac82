"""The consumer group scope: a named group over a stream, a category, the log or a query.

``store.category(category="orders").consumer_group("billing")`` names the group and what
it follows; no I/O happens until it is used. ``create`` makes it (or finds it, made the
same way), ``consume`` joins it as a consumer, and the rest manage it. A group is
identified by its name alone: ``store.consumer_group("billing")`` reaches the same group
for everything but ``create``.
"""

from collections.abc import Sequence

from .adapters.base import StorageAdapter
from .consumer import GroupConsumer
from .exceptions import InvalidInputError
from .groups import (
    FROM_BEGINNING,
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
    validate_group_name,
    validate_settings,
    validate_start,
)

__all__ = ["ConsumerGroup"]


class ConsumerGroup:
    """A named consumer group; every method is one call to the adapter.

    Raises ``GroupNotFoundError`` for a group that does not exist (but from ``create``)
    and ``InvalidInputError`` naming the field for bad input.
    """

    def __init__(self, *, adapter: StorageAdapter, name: str, target: GroupTarget | None):
        self.adapter = adapter
        self.name = name
        self.target = target

    def create(
        self, *, start: GroupStart = FROM_BEGINNING, settings: GroupSettings | None = None
    ) -> GroupInfo:
        """Create the group following this scope's target from ``start`` (``FROM_BEGINNING``,
        ``FROM_END``: the head now, or ``After(n)``); returns it.

        Idempotent: a group that exists with the same target and start is returned as it
        is; with another, ``GroupExistsError``.
        """
        if self.target is None:
            raise InvalidInputError(
                "target", "a group is created from the scope it follows, such as store.log()"
            )
        return self.adapter.create_group(
            name=validate_group_name(self.name),
            target=self.target,
            start=validate_start(start),
            settings=validate_settings(GroupSettings() if settings is None else settings),
        )

    def consume(self, *, consumer_id: str | None = None) -> GroupConsumer:
        """Join the group and iterate its deliveries (``for delivery in ...``, or
        ``async for``); ``consumer_id`` names this consumer (made up when ``None``)."""
        return self.adapter.consume_group(name=self.name, consumer_id=consumer_id)

    def info(self) -> GroupInfo:
        """The group as stored, with its lag (events not yet done), parked count and
        live consumers."""
        return self.adapter.get_group(name=self.name)

    def update(self, *, settings: GroupSettings) -> GroupInfo:
        """Replace the group's settings; ``partitions`` stays as created."""
        return self.adapter.update_group(name=self.name, settings=validate_settings(settings))

    def reset(self, *, start: GroupStart) -> GroupInfo:
        """Start the group over from ``start``, forgetting its progress and parked events."""
        return self.adapter.reset_group(name=self.name, start=validate_start(start))

    def delete(self) -> None:
        """Delete the group and everything stored about it."""
        self.adapter.delete_group(name=self.name)

    def parked(
        self, *, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        """The events the group gave up on, in sequence-number order: those after
        ``after_sequence_number`` (from the first by default), at most ``limit`` (all by
        default), so an operator can page through many."""
        return self.adapter.parked_events(
            name=self.name, after_sequence_number=after_sequence_number, limit=limit
        )

    def replay(self, *, sequence_numbers: Sequence[int] | None = None) -> int:
        """Deliver parked events again (all by default); returns how many."""
        return self.adapter.replay_parked(name=self.name, sequence_numbers=sequence_numbers)

    def drop(self, *, sequence_numbers: Sequence[int] | None = None) -> int:
        """Forget parked events for good (all by default); returns how many."""
        return self.adapter.drop_parked(name=self.name, sequence_numbers=sequence_numbers)
