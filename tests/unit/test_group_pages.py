"""The pages a group's members share: what a span covers, and that it is read once."""

from collections.abc import Iterator

from logicblocks.event.storage.groups.pages import PAGE_SIZE, SharedPages
from logicblocks.event.storage.groups.partitions import partition_of
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord
from logicblocks.event.testing.contract.sample_events import new_events
from logicblocks.event.types import identifier


class CountingReads:
    """The engine's reads, counted."""

    def __init__(self, adapter: InMemoryStorageAdapter):
        self.adapter = adapter
        self.reads = 0

    def __call__(self, target: Scannable, after: int, limit: int) -> Iterator[EventRecord]:
        self.reads += 1
        return self.adapter.read_records(target=target, after_sequence_number=after, limit=limit)


def stored(count: int) -> InMemoryStorageAdapter:
    adapter = InMemoryStorageAdapter()
    EventStore(adapter).stream(category="orders", stream="o-1").publish(events=new_events(count))
    return adapter


def numbers(records: object) -> list[int]:
    assert isinstance(records, tuple)
    return [record.sequence_number for record in records]


def test_a_full_page_covers_up_to_its_last_event_and_is_read_once() -> None:
    reads = CountingReads(stored(PAGE_SIZE + 10))
    pages = SharedPages(reads)
    first = pages.read(identifier.Log(), after=-1, known_head=PAGE_SIZE + 9)
    assert (first.after, first.reached) == (-1, PAGE_SIZE - 1)
    assert numbers(first.records) == list(range(PAGE_SIZE))
    # Another member, further on in the same page: the same span, from memory.
    later = pages.read(identifier.Log(), after=100, known_head=PAGE_SIZE + 9)
    assert later is first
    assert reads.reads == 1


def test_a_short_page_covers_up_to_the_head_known_before_it() -> None:
    adapter = InMemoryStorageAdapter()
    store = EventStore(adapter)
    store.stream(category="orders", stream="o-1").publish(events=new_events(2))
    store.stream(category="other", stream="x").publish(events=new_events(3))
    pages = SharedPages(CountingReads(adapter))
    span = pages.read(identifier.Category(category="orders"), after=-1, known_head=4)
    # The other category's events up to the head are passed over without a read of them.
    assert (span.reached, numbers(span.records)) == (4, [0, 1])


def test_spans_of_another_target_are_not_taken() -> None:
    reads = CountingReads(stored(3))
    pages = SharedPages(reads)
    pages.read(identifier.Log(), after=-1, known_head=2)
    span = pages.read(identifier.Category(category="other"), after=-1, known_head=2)
    assert (span.reached, numbers(span.records), reads.reads) == (2, [], 2)


def test_the_spans_kept_are_bounded_by_bytes() -> None:
    reads = CountingReads(stored(3 * PAGE_SIZE))
    head = 3 * PAGE_SIZE - 1
    # Room for about one page: reading a second evicts the first.
    pages = SharedPages(reads, max_bytes=PAGE_SIZE * 500)
    pages.read(identifier.Log(), after=-1, known_head=head)
    pages.read(identifier.Log(), after=PAGE_SIZE - 1, known_head=head)
    pages.read(identifier.Log(), after=PAGE_SIZE - 1, known_head=head)
    assert reads.reads == 2
    pages.read(identifier.Log(), after=-1, known_head=head)
    assert reads.reads == 3


def test_a_span_sorts_its_events_by_partition_once_for_every_member() -> None:
    adapter = InMemoryStorageAdapter()
    store = EventStore(adapter)
    for stream in ("o-1", "o-2", "o-3", "o-1"):
        store.stream(category="orders", stream=stream).publish(events=new_events(1))
    span = SharedPages(CountingReads(adapter)).read(identifier.Log(), after=-1, known_head=3)
    sorted_ = span.by_partition(2)
    partitions = {stream: partition_of("orders", stream, 2) for stream in ("o-1", "o-2", "o-3")}
    expected: dict[int, list[int]] = {}
    for number, stream in enumerate(("o-1", "o-2", "o-3", "o-1")):
        expected.setdefault(partitions[stream], []).append(number)
    assert {p: [r.sequence_number for r in records] for p, records in sorted_.items()} == expected
    assert span.by_partition(2) is sorted_
    assert set(span.by_partition(1)) == {0}
