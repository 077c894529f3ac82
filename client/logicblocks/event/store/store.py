"""The documented entry points: the store and its stream, category and log scopes."""

from collections.abc import Iterator, Sequence, Set
from datetime import datetime

from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.types.query import Query

from .adapters.base import Scannable, StorageAdapter
from .conditions import WriteCondition, no_event_matches
from .consumer_group import ConsumerGroup
from .groups import GroupInfo
from .subscription import Subscription
from .writes import StreamWrite

__all__ = ["EventCategory", "EventLog", "EventQuery", "EventStore", "EventStream"]


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

    def consumer_group(self, name: str) -> ConsumerGroup:
        """The consumer group ``name`` following this scope's events; no IO happens until
        it is used (``create()``, then ``consume()``)."""
        return ConsumerGroup(adapter=self.adapter, name=name, target=self.identifier)

    def scan(
        self, *, after_sequence_number: int | None = None, since: datetime | None = None
    ) -> Iterator[StoredEvent]:
        """Iterate the scope's events, after ``after_sequence_number`` when given (exclusive),
        or from the first one observed at or after ``since``.

        A reader that remembers the last sequence number it processed resumes here
        without skipping or repeating an event.
        """
        if since is None:  # adapters written before ``since`` keep working
            return self.adapter.scan(
                target=self.identifier, after_sequence_number=after_sequence_number
            )
        return self.adapter.scan(
            target=self.identifier, after_sequence_number=after_sequence_number, since=since
        )

    def read(
        self, *, after_sequence_number: int | None = None, since: datetime | None = None
    ) -> Sequence[StoredEvent]:
        """Read the scope's events into memory (after ``after_sequence_number``, or from
        ``since``, when given); prefer ``scan`` or iteration, which page the events as they
        are read."""
        return list(self.scan(after_sequence_number=after_sequence_number, since=since))

    def subscribe(
        self,
        *,
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
    ) -> Subscription:
        """Follow the scope: its events after ``after_sequence_number`` (from the
        beginning by default, from now on with ``from_end=True``, from the first event
        observed at or after ``since`` when given), then each new one as it commits, in
        order, each once. Iterate it; ``close()`` it when done."""
        if since is None:
            return self.adapter.subscribe(
                target=self.identifier,
                after_sequence_number=after_sequence_number,
                from_end=from_end,
            )
        return self.adapter.subscribe(
            target=self.identifier,
            after_sequence_number=after_sequence_number,
            from_end=from_end,
            since=since,
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

    def write(
        self,
        *,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> StreamWrite:
        """This stream's part of a multi-stream publish (``EventStore.publish``): nothing
        is written until the store publishes it."""
        return StreamWrite(
            category=self.category, stream=self.stream, events=events, conditions=conditions
        )


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


class EventQuery(_ReadableScope):
    """The events matching a query, read and followed like a category.

    ``unchanged_after(n)`` is the write condition of a decision made from this read: no
    event matching the query stored after ``n``.

    Attributes:
        adapter: The storage adapter to use for reading.
        query: The query.
    """

    query: Query

    def __init__(self, adapter: StorageAdapter, query: Query):
        self.adapter = adapter
        self.query = query

    @property
    def identifier(self) -> Query:
        """The query, which is also the read target."""
        return self.query

    def unchanged_after(self, after_sequence_number: int | None) -> WriteCondition:
        """The condition that no event matching the query was stored after
        ``after_sequence_number`` (``None``: none at all)."""
        return no_event_matches(self.query, after_sequence_number=after_sequence_number)


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

    def query(self, *, query: Query) -> EventQuery:
        """Get the events matching ``query``; no IO happens until it is used."""
        return EventQuery(adapter=self.adapter, query=query)

    def consumer_group(self, name: str) -> ConsumerGroup:
        """The consumer group ``name``, whatever it follows: for consuming and managing it
        (create it from the scope it follows, such as ``store.log()``)."""
        return ConsumerGroup(adapter=self.adapter, name=name, target=None)

    def consumer_groups(self) -> Sequence[GroupInfo]:
        """Every consumer group, by name, with its lag."""
        return self.adapter.list_groups()

    def publish(
        self,
        *,
        writes: Sequence[StreamWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        """Publish into several streams atomically (``stream.write(...)`` makes each part).

        Every event is stored, with sequence numbers contiguous in the order given, or
        none is. Each write's conditions are about its stream; ``conditions`` are the
        publish's own, about queries (``no_event_matches``). Raises
        ``UnmetWriteConditionError`` naming the condition that failed and why, and
        ``InvalidInputError`` for bad input; then nothing is written.
        """
        return self.adapter.publish(writes=writes, conditions=conditions)
