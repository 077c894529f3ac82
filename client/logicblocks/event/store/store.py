"""The documented entry points: the store and its stream, category and log scopes."""

from collections.abc import Iterator, Sequence, Set

from logicblocks.event.types import NewEvent, StoredEvent, identifier

from .adapters.base import Scannable, StorageAdapter
from .conditions import WriteCondition
from .subscription import Subscription

__all__ = ["EventCategory", "EventLog", "EventStore", "EventStream"]


class _ReadableScope:
    """What a stream, a category and the log share: reading and following their events.

    ``read`` always returns a list (the documented ``Sequence``); ``scan`` and iteration
    stream, so they hold a bounded number of events however many there are.
    """

    adapter: StorageAdapter

    @property
    def identifier(self) -> Scannable:
        """The identifier of this scope."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[StoredEvent]:
        """Iterate over the scope's events in sequence-number order."""
        return self.scan()

    def scan(self, *, after_sequence_number: int | None = None) -> Iterator[StoredEvent]:
        """Iterate the scope's events, after ``after_sequence_number`` when given (exclusive).

        A reader that remembers the last sequence number it processed resumes here
        without skipping or repeating an event.
        """
        return self.adapter.scan(
            target=self.identifier, after_sequence_number=after_sequence_number
        )

    def read(self, *, after_sequence_number: int | None = None) -> Sequence[StoredEvent]:
        """Read the scope's events into memory (after ``after_sequence_number`` when
        given); prefer ``scan`` or iteration, which page the events as they are read."""
        return list(self.scan(after_sequence_number=after_sequence_number))

    def subscribe(
        self, *, after_sequence_number: int | None = None, from_end: bool = False
    ) -> Subscription:
        """Follow the scope: its events after ``after_sequence_number`` (from the
        beginning by default, from now on with ``from_end=True``), then each new one as it
        commits, in order, each once. Iterate it; ``close()`` it when done."""
        return self.adapter.subscribe(
            target=self.identifier,
            after_sequence_number=after_sequence_number,
            from_end=from_end,
        )


class EventStream(_ReadableScope):
    """A class for interacting with a specific stream of events.

    Events can be published into the stream using the `publish` method, and the entire
    stream can be read using the `read` method. Streams are also iterable.

    Attributes:
        adapter: The storage adapter to use for interacting with the stream.
        category: The name of the category of the stream.
        stream: The name of the stream.
    """

    category: str
    stream: str

    def __init__(self, adapter: StorageAdapter, category: str, stream: str):
        self.adapter = adapter
        self.category = category
        self.stream = stream

    @property
    def identifier(self) -> identifier.Stream:
        """The identifier of this stream."""
        return identifier.Stream(category=self.category, stream=self.stream)

    def publish(
        self,
        *,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish a sequence of events into the stream.

        All events are written, contiguously, or none. Raises ``UnmetWriteConditionError``
        if a condition does not hold and ``InvalidInputError`` for bad input.
        """
        return self.adapter.save(target=self.identifier, events=events, conditions=conditions)


class EventCategory(_ReadableScope):
    """A class for interacting with a specific category of events.

    Since a category consists of zero or more streams, the category can be narrowed to a
    specific stream using the `stream` method. Events in the category can be read using the
    `read` method. Categories are also iterable.

    Attributes:
        adapter: The storage adapter to use for interacting with the category.
        category: the name of the category.
    """

    category: str

    def __init__(self, adapter: StorageAdapter, category: str):
        self.adapter = adapter
        self.category = category

    @property
    def identifier(self) -> identifier.Category:
        """The identifier of this category."""
        return identifier.Category(category=self.category)

    def stream(self, *, stream: str) -> EventStream:
        """Get a stream of events in the category."""
        return EventStream(adapter=self.adapter, category=self.category, stream=stream)


class EventLog(_ReadableScope):
    """The whole log of the store, every event in sequence-number order.

    Attributes:
        adapter: The storage adapter to use for reading the log.
    """

    def __init__(self, adapter: StorageAdapter):
        self.adapter = adapter

    @property
    def identifier(self) -> identifier.Log:
        """The identifier of the log."""
        return identifier.Log()


class EventStore:
    """The primary interface into the store of events.

    An `EventStore` is backed by a `StorageAdapter` which implements event storage. The
    store is partitioned into streams, a sequence of events relating to the same "thing",
    and categories, a logical grouping of streams. The combination of a category name and a
    stream name identifies a stream.
    """

    adapter: StorageAdapter

    def __init__(self, adapter: StorageAdapter):
        self.adapter = adapter

    def stream(self, *, category: str, stream: str) -> EventStream:
        """Get a stream of events from the store; no IO happens until it is used."""
        return EventStream(adapter=self.adapter, category=category, stream=stream)

    def category(self, *, category: str) -> EventCategory:
        """Get a category of events from the store; no IO happens until it is used."""
        return EventCategory(adapter=self.adapter, category=category)

    def log(self) -> EventLog:
        """Get the whole log of the store; no IO happens until it is used."""
        return EventLog(adapter=self.adapter)
