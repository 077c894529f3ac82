"""The in-memory adapter: the whole store in this process, for tests and in-process use."""

import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Sequence, Set
from itertools import islice

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.listing import (
    CategorySummary,
    StoreSummary,
    StreamSummary,
    prefix_upper_bound,
)
from logicblocks.event.store.publishing import (
    PendingWrite,
    check_publish,
    number_writes,
    resolve_retry_writes,
)
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from .engine import HeadSignal, RecordStorageAdapter, payload_bytes, within_bytes
from .groups.memory import InMemoryGroupRecords
from .groups.records import GroupRecords

__all__ = ["InMemoryStorageAdapter"]


class InMemoryStorageAdapter(RecordStorageAdapter):
    """Holds events in lists in this process; lost when the process ends.

    Writes are serialised by one lock. The log and the per-category and per-stream indexes
    are append-only lists, so a scan reads a consistent snapshot by bounding itself to the
    log's length when it starts: publishes racing with it are neither seen half-done nor
    able to disturb the iteration.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[EventRecord] = []
        self._category_index: dict[str, list[int]] = {}
        self._stream_index: dict[tuple[str, str], list[int]] = {}
        self._ids: dict[str, int] = {}
        # The listing index: each stream's last event, and the names in code point order
        # (kept sorted on insert, so a page is a bisection and a slice).
        self._streams: dict[tuple[str, str], StreamSummary] = {}
        self._stream_names: dict[str, list[str]] = {}
        self._category_names: list[str] = []
        self._head_signal = HeadSignal()
        self._groups = InMemoryGroupRecords()

    def group_records(self) -> GroupRecords:
        return self._groups

    def write_streams(
        self,
        *,
        writes: Sequence[PendingWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        with self._lock:
            found = {
                event.id: self._log[self._ids[event.id]]
                for write in writes
                for event in write.events
                if event.id in self._ids
            }
            retried = resolve_retry_writes(writes, found)
            if retried is not None:
                return retried

            check_publish(writes, conditions, self)
            records = number_writes(writes, self, head=len(self._log) - 1)
            for record in records:
                self._category_index.setdefault(record.category, []).append(record.sequence_number)
                self._stream_index.setdefault((record.category, record.stream), []).append(
                    record.sequence_number
                )
                self._ids[record.id] = record.sequence_number
            last_of_stream = {(record.category, record.stream): record for record in records}
            for last in last_of_stream.values():
                self._index_stream(last)
            # Appending to the log last publishes the batch to scans all at once: a scan's
            # snapshot is the log's length, which grows only here.
            self._log.extend(records)
        self._head_signal.advance(len(self._log) - 1)
        self._committed(len(records))
        return records

    # ConditionState, judged under the write lock.
    def last_position(self, target: identifier.Stream) -> int | None:
        """The position of the stream's last event, ``None`` when it has none."""
        stream_index = self._stream_index.get((target.category, target.stream))
        return len(stream_index) - 1 if stream_index else None

    def first_match(self, query: Query, after: int) -> int | None:
        """The first event matching ``query`` after ``after``, read from the log."""
        for record in self._matching(query, after, len(self._log)):
            return record.sequence_number
        return None

    def _matching(self, query: Query, after: int, snapshot: int) -> Iterator[EventRecord]:
        for sequence_number in range(after + 1, snapshot):
            record = self._log[sequence_number]
            if query.matches(
                category=record.category, stream=record.stream, name=record.name, tags=record.tags
            ):
                yield record

    def read_record_by_id(self, id: str) -> EventRecord | None:
        sequence_number = self._ids.get(id)
        return None if sequence_number is None else self._log[sequence_number]

    def read_records(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int = NO_EVENTS,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[EventRecord]:
        snapshot = len(self._log)
        records = within_bytes(
            self._iterate(target, after_sequence_number, snapshot), max_bytes, payload_bytes
        )
        return records if limit is None else islice(records, limit)

    def _iterate(self, target: Scannable, after: int, snapshot: int) -> Iterator[EventRecord]:
        match target:
            case identifier.Log():
                for sequence_number in range(after + 1, snapshot):
                    yield self._log[sequence_number]
            case identifier.Category(category=category):
                yield from self._indexed(self._category_index.get(category, []), after, snapshot)
            case identifier.Stream(category=category, stream=stream):
                yield from self._indexed(
                    self._stream_index.get((category, stream), []), after, snapshot
                )
            case Query():
                yield from self._matching(target, after, snapshot)

    def _indexed(self, index: list[int], after: int, snapshot: int) -> Iterator[EventRecord]:
        # Index entries are sequence numbers in ascending order; entries past the snapshot
        # belong to publishes that finished after the scan began.
        # By position in the index, not islice (which walks from the start): resuming deep
        # into a large category costs a bisection, not a walk.
        for offset in range(bisect_right(index, after), len(index)):
            sequence_number = index[offset]
            if sequence_number >= snapshot:
                return
            yield self._log[sequence_number]

    def _index_stream(self, last: EventRecord) -> None:
        """Record ``last`` as its stream's last event (under the write lock)."""
        key = (last.category, last.stream)
        if key not in self._streams:
            names = self._stream_names.get(last.category)
            if names is None:
                names = self._stream_names[last.category] = []
                insort(self._category_names, last.category)
            insort(names, last.stream)
        self._streams[key] = StreamSummary(
            category=last.category,
            stream=last.stream,
            last_position=last.position,
            last_sequence_number=last.sequence_number,
            last_observed_at=last.observed_at,
        )

    def list_categories(self, *, after: str | None = None, limit: int) -> Sequence[CategorySummary]:
        with self._lock:
            names = self._category_names
            start = 0 if after is None else bisect_right(names, after)
            return [self._category(name) for name in names[start : start + limit]]

    def _category(self, category: str) -> CategorySummary:
        events = self._category_index[category]
        return CategorySummary(
            category=category,
            streams=len(self._stream_names[category]),
            events=len(events),
            last_sequence_number=events[-1],
        )

    def list_streams(
        self, *, category: str, prefix: str = "", after: str | None = None, limit: int
    ) -> Sequence[StreamSummary]:
        with self._lock:
            names = self._stream_names.get(category, [])
            start = bisect_left(names, prefix)
            if after is not None:
                start = max(start, bisect_right(names, after))
            bound = prefix_upper_bound(prefix)
            end = len(names) if bound is None else bisect_left(names, bound)
            return [
                self._streams[(category, name)] for name in names[start : min(end, start + limit)]
            ]

    def summary(self) -> StoreSummary:
        with self._lock:
            return StoreSummary(
                storage="memory",
                head=len(self._log) - 1,
                categories=len(self._category_names),
                streams=len(self._streams),
            )

    def head(self) -> int:
        # Sequence numbers are places in the log: the last is its length less one.
        return len(self._log) - 1

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        return self._head_signal.wait(known_head, timeout, self.head)
