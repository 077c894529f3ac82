"""The listings and the summary of the adapters that hold events themselves.

Each test compares the engine's index with what the log itself says, worked out here from
``read_records``, so an index that drifts from the log (a publish recorded twice, a
rejected one recorded at all, a group of publishes recorded out of order) fails.
"""

import pytest

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.store import (
    EventStore,
    UnmetWriteConditionError,
    stream_is_empty,
)
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.types import NewEvent

from .fixtures import AdapterFactory
from .sample_events import new_events, run_threads

# Upper case sorts before lower case, and both before accented and astral characters:
# code point order, which every engine lists by.
_NAMES = ["B", "a", "a-1", "a-10", "a-2", "ab", "é", "éa", "\U0001f600"]


def _streams_from_log(adapter: RecordStorageAdapter, category: str) -> list[StreamSummary]:
    """Each stream of ``category`` as the log says it, in code point order."""
    last: dict[str, StreamSummary] = {}
    for record in adapter.read_records():
        if record.category == category:
            last[record.stream] = StreamSummary(
                category=record.category,
                stream=record.stream,
                last_position=record.position,
                last_sequence_number=record.sequence_number,
                last_observed_at=record.observed_at,
            )
    return [last[name] for name in sorted(last)]


def _categories_from_log(adapter: RecordStorageAdapter) -> list[CategorySummary]:
    """Each category as the log says it, in code point order."""
    figures: dict[str, tuple[set[str], int, int]] = {}
    for record in adapter.read_records():
        streams, events, _ = figures.get(record.category, (set(), 0, -1))
        streams.add(record.stream)
        figures[record.category] = (streams, events + 1, record.sequence_number)
    return [
        CategorySummary(
            category=name, streams=len(streams), events=events, last_sequence_number=last
        )
        for name, (streams, events, last) in sorted(figures.items())
    ]


def _all_pages(adapter: RecordStorageAdapter, category: str, prefix: str, size: int) -> list[str]:
    names: list[str] = []
    while True:
        page = adapter.list_streams(
            category=category, prefix=prefix, after=names[-1] if names else None, limit=size
        )
        names += [stream.stream for stream in page]
        if len(page) < size:
            return names


class ListingContract:
    """``list_categories``, ``list_streams`` and ``summary`` of a ``RecordStorageAdapter``.

    Mixed into an adapter's contract class beside ``RecordStorageContract``.
    """

    @pytest.fixture
    def indexed(self, adapter_factory: AdapterFactory) -> RecordStorageAdapter:
        adapter = adapter_factory()
        assert isinstance(adapter, RecordStorageAdapter)
        return adapter

    def test_an_empty_store_lists_nothing(self, indexed: RecordStorageAdapter) -> None:
        assert indexed.list_categories(limit=10) == []
        assert indexed.list_streams(category="orders", limit=10) == []
        summary = indexed.summary()
        assert (summary.head, summary.categories, summary.streams, summary.events) == (-1, 0, 0, 0)
        assert summary.storage in ("memory", "sqlite", "postgresql")

    def test_streams_carry_their_last_event_and_list_in_code_point_order(
        self, indexed: RecordStorageAdapter
    ) -> None:
        store = EventStore(indexed)
        for count, name in enumerate(reversed(_NAMES), start=1):
            store.stream(category="orders", stream=name).publish(events=new_events(count))
        store.stream(category="users", stream="u").publish(events=new_events(1))
        # A second publish moves a stream's last event on.
        store.stream(category="orders", stream="a").publish(events=new_events(2))

        listed = indexed.list_streams(category="orders", limit=100)
        assert [stream.stream for stream in listed] == sorted(_NAMES)
        assert list(listed) == _streams_from_log(indexed, "orders")
        assert next(s for s in listed if s.stream == "a").events == 8 + 2

    def test_categories_carry_their_counts_and_list_in_code_point_order(
        self, indexed: RecordStorageAdapter
    ) -> None:
        store = EventStore(indexed)
        for index, name in enumerate(_NAMES):
            for stream in range(index % 3 + 1):
                store.stream(category=name, stream=f"s{stream}").publish(
                    events=new_events(stream + 1)
                )
        listed = indexed.list_categories(limit=100)
        assert [category.category for category in listed] == sorted(_NAMES)
        assert list(listed) == _categories_from_log(indexed)

    def test_pages_follow_each_other_without_gaps_or_repeats(
        self, indexed: RecordStorageAdapter
    ) -> None:
        store = EventStore(indexed)
        for name in _NAMES:
            store.stream(category="orders", stream=name).publish(events=new_events(1))
            store.stream(category=name, stream="s").publish(events=new_events(1))
        for size in (1, 2, 4, len(_NAMES)):
            assert _all_pages(indexed, "orders", "", size) == sorted(_NAMES)
            categories: list[str] = []
            while True:
                page = indexed.list_categories(
                    after=categories[-1] if categories else None, limit=size
                )
                categories += [category.category for category in page]
                if len(page) < size:
                    break
            assert categories == sorted([*_NAMES, "orders"])
        # "after" need not be a listed name: the page starts after where it would sort.
        assert [s.stream for s in indexed.list_streams(category="orders", after="a-", limit=3)] == [
            "a-1",
            "a-10",
            "a-2",
        ]

    def test_a_prefix_lists_exactly_the_streams_starting_with_it(
        self, indexed: RecordStorageAdapter
    ) -> None:
        store = EventStore(indexed)
        names = [*_NAMES, "a\U0010ffff", "a\U0010ffffz", "a\ud7ff", "a\ue000"]
        for name in names:
            store.stream(category="orders", stream=name).publish(events=new_events(1))
        for prefix in ("", "a", "a-", "a-1", "é", "\U0001f600", "a\U0010ffff", "a\ud7ff", "zz"):
            expected = sorted(name for name in names if name.startswith(prefix))
            assert _all_pages(indexed, "orders", prefix, 2) == expected, prefix
        listed = indexed.list_streams(category="orders", prefix="a-", after="a-10", limit=10)
        assert [stream.stream for stream in listed] == ["a-2"]

    def test_rejected_and_repeated_publishes_leave_the_index_as_it_was(
        self, indexed: RecordStorageAdapter
    ) -> None:
        store = EventStore(indexed)
        stream = store.stream(category="orders", stream="o-1")
        events = [NewEvent(name="placed", payload={}, id="order-1-placed")]
        stream.publish(events=events)
        before = (indexed.list_streams(category="orders", limit=10), indexed.summary())

        stream.publish(events=events)  # a retry: stores nothing
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=new_events(1), conditions={stream_is_empty()})
        stream.publish(events=[])

        assert (indexed.list_streams(category="orders", limit=10), indexed.summary()) == before

    def test_the_summary_counts_what_the_log_holds(self, indexed: RecordStorageAdapter) -> None:
        store = EventStore(indexed)
        for name in _NAMES:
            store.stream(category=name[0], stream=name).publish(events=new_events(2))
        summary = indexed.summary()
        assert summary == StoreSummary(
            storage=summary.storage,
            head=2 * len(_NAMES) - 1,
            categories=len({name[0] for name in _NAMES}),
            streams=len(_NAMES),
        )
        assert summary.events == 2 * len(_NAMES)

    def test_concurrent_publishes_into_shared_streams_keep_the_index_with_the_log(
        self, indexed: RecordStorageAdapter
    ) -> None:
        # Engines that group concurrent publishes into one transaction write several
        # publishes of one stream at once: the index must hold the last of them.
        store = EventStore(indexed)

        def publish(writer: int) -> None:
            for round_ in range(10):
                stream = f"s{(writer + round_) % 3}"
                store.stream(category="orders", stream=stream).publish(
                    events=new_events(writer % 3 + 1)
                )

        run_threads(8, publish)
        assert list(indexed.list_streams(category="orders", limit=10)) == _streams_from_log(
            indexed, "orders"
        )
        assert list(indexed.list_categories(limit=10)) == _categories_from_log(indexed)
