"""The base of the adapters that hold events themselves: in-memory, SQLite, PostgreSQL."""

import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from concurrent.futures import Executor
from datetime import datetime
from functools import cached_property
from itertools import takewhile
from typing import TypeVar

from logicblocks.event.store.adapters.base import (
    Saveable,
    Scannable,
    StorageAdapter,
    validate_scannable,
)
from logicblocks.event.store.conditions import WriteCondition, validate_conditions
from logicblocks.event.store.exceptions import InvalidInputError
from logicblocks.event.store.groups import (
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
)
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    prepare_events,
    validate_target,
)
from logicblocks.event.store.start import NO_EVENTS, read_start, scan_after
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.store.writes import StreamWrite, prepare_writes
from logicblocks.event.types import NewEvent, StoredEvent, identifier

from .asynchronous import AsyncRecordStorage, CommitObserver, ThreadedRecordStorage, tell_commit
from .groups.consumer import LocalGroupConsumer
from .groups.consumer_handle import LocalConsumerHandle
from .groups.local_members import LocalMembers
from .groups.pages import SharedPages
from .groups.records import GroupRecords
from .groups.service import GroupService
from .head_signal import HeadSignal
from .local_subscription import LocalSubscription

__all__ = [
    "CommitObserver",
    "HeadSignal",
    "RecordStorageAdapter",
    "payload_bytes",
    "within_bytes",
]

_T = TypeVar("_T")


class RecordStorageAdapter(StorageAdapter):
    """Base of the adapters that hold events themselves (in-memory, SQLite, PostgreSQL).

    Validation, encoding and decoding live here, once; a backend implements only
    ``write_records``, ``read_records`` and ``head``, which deal in ``EventRecord``s whose
    payloads are JSON text. The server calls those directly, so payloads pass from storage
    to the wire without being decoded.
    """

    commit_observer: CommitObserver | None = None
    """Called after each storage commit with the number of events it wrote (never 0).

    Set by whoever wants to watch the engine (the server's metrics); engines call it
    through ``_committed``. It must be quick: it runs in the writer's thread.
    """

    def _committed(self, events: int) -> None:
        """Tell the commit observer, if any, that a commit wrote ``events`` events."""
        tell_commit(self.commit_observer, events)

    def asynchronous(self, executor: Executor) -> AsyncRecordStorage:
        """This engine as the server's event loop calls it (see ``AsyncRecordStorage``).

        By default each call runs on ``executor``; an engine that can answer in the loop
        itself returns its own face (PostgreSQL does).
        """
        return ThreadedRecordStorage(self, executor)

    def save(
        self,
        *,
        target: Saveable,
        events: Sequence[NewEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        stream = validate_target(target)
        pending = prepare_events(events)
        checked = validate_conditions("conditions", conditions, stream=True)
        records = self.write_records(target=stream, events=pending, conditions=checked)
        return [record.to_stored_event() for record in records]

    def publish(
        self,
        *,
        writes: Sequence[StreamWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[StoredEvent]:
        pending, checked = prepare_writes(writes, conditions)
        records = self.write_streams(writes=pending, conditions=checked)
        return [record.to_stored_event() for record in records]

    def _start_after(self, after_sequence_number: int | None, since: datetime | None) -> int | None:
        """The documented ``after_sequence_number``, or the one ``since`` stands for."""
        if since is None:
            return after_sequence_number
        if after_sequence_number is not None:
            raise InvalidInputError("since", "cannot be given together with after_sequence_number")
        if not isinstance(since, datetime) or since.utcoffset() is None:
            raise InvalidInputError("since", "must be a timezone-aware datetime")
        return self.after_sequence_number_since(since)

    def scan(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        since: datetime | None = None,
    ) -> Iterator[StoredEvent]:
        validate_scannable(target)
        after = scan_after(self._start_after(after_sequence_number, since))
        # A scan ends at the head as it was when the scan began, whichever backend pages
        # it: under a steady stream of writes it would otherwise never end.
        bound = self.head()
        if bound == NO_EVENTS:
            return iter(())
        records = self.read_records(target=target, after_sequence_number=after)
        return (
            record.to_stored_event()
            for record in takewhile(lambda record: record.sequence_number <= bound, records)
        )

    def subscribe(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int | None = None,
        from_end: bool = False,
        since: datetime | None = None,
    ) -> Subscription:
        validate_scannable(target)
        if since is not None and from_end:
            raise InvalidInputError("since", "cannot be given together with from_end=True")
        return LocalSubscription(
            adapter=self,
            target=target,
            start=read_start(
                after_sequence_number=self._start_after(after_sequence_number, since),
                from_end=from_end,
            ),
        )

    def write_records(
        self,
        *,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        """``write_streams`` for a publish into one stream (its conditions go with it)."""
        return self.write_streams(
            writes=[PendingWrite(target=target, events=events, conditions=conditions)],
            conditions=frozenset(),
        )

    @abstractmethod
    def write_streams(
        self,
        *,
        writes: Sequence[PendingWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        """Atomically check every condition and append each write's events (all already
        validated), with sequence numbers contiguous in the order given.

        Conditions are judged against the store as it was before the publish
        (``records.check_publish``), numbering is ``records.number_writes``'s. If every
        event's id is already stored in its write's stream, returns those records instead
        (a retried publish: ``records.resolve_retry_writes``). Raises
        ``UnmetWriteConditionError`` or ``InvalidInputError``; then nothing is written.
        """
        raise NotImplementedError()

    def after_sequence_number_since(self, since: datetime) -> int:
        """Where a read from ``since`` resumes: just before the first event (the lowest
        sequence number) observed at or after ``since``; the head when there is none.

        This default reads the log; engines answer from an index.
        """
        for record in self.read_records():
            if record.observed_at >= since:
                return record.sequence_number - 1
        return self.head()

    @abstractmethod
    def read_records(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int = NO_EVENTS,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[EventRecord]:
        """Iterate records of ``target`` with a sequence number greater than
        ``after_sequence_number``, in order, at most ``limit`` of them.

        With ``max_bytes``, also stop before the record that would take the payloads read
        past ``max_bytes`` in total (see ``within_bytes``): the first record always comes,
        so one payload larger than the budget still goes through. Holds a bounded number
        of records in memory however large the result.
        """
        raise NotImplementedError()

    def count_records(self, *, target: Scannable, after_sequence_number: int, through: int) -> int:
        """How many records of ``target`` have a sequence number in
        ``(after_sequence_number, through]`` (``through`` at most the head).

        The log's sequence numbers have no gaps: its count is a subtraction. This default
        reads the other targets' records; engines count categories and streams in SQL.
        """
        if through <= after_sequence_number:
            return 0
        if isinstance(target, identifier.Log):
            return through - after_sequence_number
        count = 0
        for record in self.read_records(target=target, after_sequence_number=after_sequence_number):
            if record.sequence_number > through:
                break
            count += 1
        return count

    def group_records(self) -> GroupRecords:
        """Where this engine keeps its consumer groups (beside its events)."""
        raise NotImplementedError(f"{type(self).__name__} does not keep consumer groups")

    @cached_property
    def group_pages(self) -> SharedPages:
        """The pages of group targets read last, shared by the consumers of this engine."""
        return SharedPages(
            lambda target, after, limit: self.read_records(
                target=target, after_sequence_number=after, limit=limit
            )
        )

    @cached_property
    def group_members(self) -> LocalMembers:
        """The group consumers this engine serves, told at once of changes made through it."""
        return LocalMembers()

    # Consumer groups: kept in group_records(), served by groups.service.

    def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        return GroupService(self).create_group(
            name=name, target=target, start=start, settings=settings
        )

    def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        return GroupService(self).update_group(name=name, settings=settings)

    def get_group(self, *, name: str) -> GroupInfo:
        return GroupService(self).get_group(name=name)

    def list_groups(self) -> Sequence[GroupInfo]:
        return GroupService(self).list_groups()

    def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        return GroupService(self).reset_group(name=name, start=start)

    def delete_group(self, *, name: str) -> None:
        GroupService(self).delete_group(name=name)

    def consume_group(self, *, name: str, consumer_id: str | None = None) -> LocalConsumerHandle:
        # A handle, which leaves the group once the application drops it.
        return LocalConsumerHandle(self.join_group(name=name, consumer_id=consumer_id))

    def join_group(self, *, name: str, consumer_id: str | None = None) -> LocalGroupConsumer:
        """Join group ``name`` with the engine's own consumer, batch calls and all (the
        server's); the caller must close it. Raises as ``consume_group``."""
        return GroupService(self).consume_group(name=name, consumer_id=consumer_id)

    def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        return GroupService(self).parked_events(
            name=name, after_sequence_number=after_sequence_number, limit=limit
        )

    def replay_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        return GroupService(self).replay_parked(name=name, sequence_numbers=sequence_numbers)

    def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        return GroupService(self).drop_parked(name=name, sequence_numbers=sequence_numbers)

    @abstractmethod
    def head(self) -> int:
        """The greatest sequence number in the store, ``NO_EVENTS`` (-1) when it is empty."""
        raise NotImplementedError()

    @abstractmethod
    def list_categories(self, *, after: str | None = None, limit: int) -> Sequence[CategorySummary]:
        """The first ``limit`` categories named after ``after`` (all when ``None``), in code
        point order, read at one moment from the engine's index, not from the log."""
        raise NotImplementedError()

    @abstractmethod
    def list_streams(
        self, *, category: str, prefix: str = "", after: str | None = None, limit: int
    ) -> Sequence[StreamSummary]:
        """The first ``limit`` streams of ``category`` whose names start with ``prefix``
        and come after ``after`` (all when ``None``), in code point order, from the index."""
        raise NotImplementedError()

    @abstractmethod
    def summary(self) -> StoreSummary:
        """The engine's kind, head and counts, read at one moment from the index."""
        raise NotImplementedError()

    def read_record_by_id(self, id: str) -> EventRecord | None:
        """The stored record whose event id is ``id`` (ids are unique in a store), or
        ``None``.

        The engines here look it up in their index of ids. This default reads the log
        from the start, so that adapters written before it still answer, slowly.
        """
        for record in self.read_records():
            if record.id == id:
                return record
        return None

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        """Block until the head is past ``known_head`` or ``timeout`` seconds pass.

        Returns the head as it is then (which may still be ``known_head``, or even behind
        it when the caller learnt of a newer head elsewhere). A wake-up is only a hint
        that new events may exist: callers always read the events themselves, after the
        last one they saw. This default polls ``head()``; backends that learn of commits
        sooner (in process, or by ``LISTEN``) override it.
        """
        deadline = time.monotonic() + timeout
        while True:
            current = self.head()
            remaining = deadline - time.monotonic()
            if current > known_head or remaining <= 0:
                return current
            time.sleep(min(_HEAD_POLL_INTERVAL, remaining))


_HEAD_POLL_INTERVAL = 0.5


def payload_bytes(record: EventRecord) -> int:
    """The size of ``record``'s payload in UTF-8 bytes, as storage and the wire count it."""
    # isascii() is a flag check: the common payload is measured without encoding a copy.
    payload = record.payload
    return len(payload) if payload.isascii() else len(payload.encode("utf-8", "surrogatepass"))


def within_bytes(
    items: Iterable[_T], max_bytes: int | None, size: Callable[[_T], int]
) -> Iterator[_T]:
    """The longest run of ``items`` whose ``size``s total at most ``max_bytes``, and never
    less than the first item.

    The one rule of a byte-bounded page (``read_records(max_bytes=...)``, with
    ``payload_bytes`` for ``size``); PostgreSQL evaluates the same rule in SQL. Lazy: the
    item after the budget is read, not kept.
    """
    if max_bytes is None:
        yield from items
        return
    total = 0
    for item in items:
        item_size = size(item)
        if total + item_size > max_bytes and total > 0:
            return
        total += item_size
        yield item
