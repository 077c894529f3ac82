"""Pages of a group's target, read once and shared by the group's members in this process.

Every member reads its group's whole target and keeps the events of the partitions it
owns; several members of one group served by one process (a server's consumers) read the
same pages at nearly the same time. ``SharedPages`` keeps the spans read last, so each
page comes from storage once and the other members take it from memory.

A ``Span`` says which events it covers, not only which it holds: every event of the target
with a sequence number in ``(after, reached]``. A full page covers up to its last event; a
short one up to the head the reader knew before it read (sequence numbers are given in
commit order, so nothing at or below a known head can still appear), which moves a member
past the events of other targets without reading the head again.

Each member keeps only the events of the partitions it owns, so a span also sorts its
events by partition, once for all members (``Span.by_partition``): a member then goes
through its own events only, and no event's partition is worked out more than once.
"""

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord

from .partitions import partition_of

__all__ = ["PAGE_SIZE", "SharedPages", "Span"]

# Events read per page of a target.
PAGE_SIZE = 500
# What the spans kept may hold together, counted as payload and metadata text: the cache
# is bounded by bytes as well as by count, whatever the events weigh.
_MAX_BYTES = 8 * 1024 * 1024
_MAX_SPANS = 32
# What one event costs beyond its JSON text, roughly (record, strings, timestamps).
_RECORD_OVERHEAD = 400


@dataclass(frozen=True, slots=True)
class Span:
    """Every event of a target with a sequence number in ``(after, reached]``, in order."""

    after: int
    reached: int
    records: Sequence[EventRecord]
    # by_partition's answers, by partition count.
    _sorted: dict[int, Mapping[int, Sequence[EventRecord]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def by_partition(self, partitions: int) -> Mapping[int, Sequence[EventRecord]]:
        """The span's events by their partition among ``partitions``, each in order;
        worked out on the first call for that count (two threads asking at once may both
        work it out: the answers are equal)."""
        sorted_ = self._sorted.get(partitions)
        if sorted_ is None:
            lists: dict[int, list[EventRecord]] = {}
            for record in self.records:
                partition = partition_of(record.category, record.stream, partitions)
                lists.setdefault(partition, []).append(record)
            sorted_ = self._sorted[partitions] = lists
        return sorted_


class _Reader:
    """The right to read one target's next page, and how many want it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


@dataclass(frozen=True, slots=True)
class _Kept:
    target: Scannable
    span: Span
    size: int


class SharedPages:
    """The spans of targets read last (thread-safe), bounded by count and by bytes.

    ``read_records`` is the engine's: ``(target, after, limit)`` to the records.
    """

    def __init__(
        self,
        read_records: Callable[[Scannable, int, int], Iterator[EventRecord]],
        *,
        max_bytes: int = _MAX_BYTES,
        max_spans: int = _MAX_SPANS,
    ):
        self._read_records = read_records
        self._max_bytes = max_bytes
        self._max_spans = max_spans
        self._lock = threading.Lock()
        self._readers: dict[Scannable, _Reader] = {}
        # Oldest first.
        self._kept: list[_Kept] = []
        self._bytes = 0

    def read(self, target: Scannable, *, after: int, known_head: int) -> Span:
        """A span of ``target`` that covers the event after ``after`` (it may start
        earlier): from memory when one read covers it, else a page read now from after
        ``after``. ``known_head``: a head seen before this call."""
        span = self._kept_span(target, after)
        if span is not None:
            return span
        # One reader of a target at a time: members moving together would otherwise all
        # miss the same page at once and each read it. Other targets read meanwhile.
        with self._lock:
            reader = self._readers.get(target)
            if reader is None:
                reader = self._readers[target] = _Reader()
            reader.users += 1
        try:
            with reader.lock:
                span = self._kept_span(target, after)
                if span is not None:
                    return span
                return self._read_page(target, after, known_head)
        finally:
            with self._lock:
                reader.users -= 1
                if reader.users == 0:
                    del self._readers[target]

    def _kept_span(self, target: Scannable, after: int) -> Span | None:
        with self._lock:
            for kept in reversed(self._kept):
                span = kept.span
                if span.after <= after < span.reached and kept.target == target:
                    return span
        return None

    def _read_page(self, target: Scannable, after: int, known_head: int) -> Span:
        records = tuple(self._read_records(target, after, PAGE_SIZE))
        if len(records) == PAGE_SIZE:
            reached = records[-1].sequence_number
        else:
            reached = max(known_head, records[-1].sequence_number) if records else known_head
        span = Span(after, max(reached, after), records)
        if span.reached > after:
            self._keep(_Kept(target, span, _size(records)))
        return span

    def _keep(self, kept: _Kept) -> None:
        with self._lock:
            self._kept.append(kept)
            self._bytes += kept.size
            while len(self._kept) > 1 and (
                len(self._kept) > self._max_spans or self._bytes > self._max_bytes
            ):
                self._bytes -= self._kept.pop(0).size


def _size(records: Sequence[EventRecord]) -> int:
    return sum(
        len(r.payload) + (len(r.metadata) if r.metadata else 0) + _RECORD_OVERHEAD for r in records
    )
