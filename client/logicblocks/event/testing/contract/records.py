"""``read_records`` of the adapters that hold events themselves: byte-bounded pages."""

import random
import string
from typing import Any

import pytest

from logicblocks.event.storage.engine import RecordStorageAdapter, payload_bytes
from logicblocks.event.store import (
    EventStore,
)
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.types.query import Query, QueryItem

from .fixtures import AdapterFactory


class RecordStorageContract:
    """``read_records``, for the adapters that hold events themselves (``RecordStorageAdapter``).

    Mixed into an adapter's contract class beside ``StorageAdapterContract``.
    """

    @pytest.fixture
    def records(self, adapter_factory: AdapterFactory) -> RecordStorageAdapter:
        adapter = adapter_factory()
        assert isinstance(adapter, RecordStorageAdapter)
        return adapter

    @staticmethod
    def _publish_sized(adapter: RecordStorageAdapter, stream: str, sizes: list[int]) -> None:
        # Random letters (which PostgreSQL cannot compress), repeated letters (which it
        # does) and non-ASCII text (two bytes a character), so every way a backend may
        # measure a payload is crossed.
        generator = random.Random(len(sizes))
        payloads: list[dict[str, Any]] = []
        for index, size in enumerate(sizes):
            kind = index % 3
            if kind == 0:
                text = "".join(generator.choices(string.ascii_letters, k=size))
            elif kind == 1:
                text = "x" * size
            else:
                text = "é" * (size // 2)
            payloads.append({"text": text})
        EventStore(adapter).stream(category="sized", stream=stream).publish(
            events=[NewEvent(name="sized", payload=payload) for payload in payloads]
        )

    @staticmethod
    def _expected_pages(sizes: list[int], max_bytes: int, limit: int | None) -> list[list[int]]:
        # The rule, stated independently of the code under test: a page takes records
        # while their payloads total at most max_bytes, but always at least one.
        pages: list[list[int]] = []
        index = 0
        while index < len(sizes):
            page, total = [index], sizes[index]
            index += 1
            while (
                index < len(sizes)
                and total + sizes[index] <= max_bytes
                and (limit is None or len(page) < limit)
            ):
                total += sizes[index]
                page.append(index)
                index += 1
            pages.append(page)
        return pages

    @pytest.mark.parametrize("limit", [None, 3])
    @pytest.mark.parametrize(
        "target",
        [
            identifier.Log(),
            identifier.Category(category="sized"),
            identifier.Stream(category="sized", stream="a"),
        ],
    )
    def test_a_byte_bounded_read_stops_at_its_budget_but_takes_at_least_one(
        self, records: RecordStorageAdapter, target: Scannable, limit: int | None
    ) -> None:
        # Small payloads stored inline and large ones stored apart (over 8 KiB), some over
        # the budget on their own.
        self._publish_sized(
            records, "a", [300, 900, 20_000, 15_000, 30_000, 70_000, 200, 200, 12_000, 9_000]
        )
        stored = list(records.read_records(target=target))
        sizes = [payload_bytes(record) for record in stored]
        for max_bytes in (30_000, sum(sizes[:3])):  # the second fits the first page exactly
            assert self._pages(records, target, limit, max_bytes, stored) == (
                self._expected_pages(sizes, max_bytes, limit)
            )

    @staticmethod
    def _pages(
        records: RecordStorageAdapter,
        target: Scannable,
        limit: int | None,
        max_bytes: int,
        stored: list[EventRecord],
    ) -> list[list[int]]:
        pages: list[list[int]] = []
        after = NO_EVENTS
        while True:
            page = list(
                records.read_records(
                    target=target, after_sequence_number=after, limit=limit, max_bytes=max_bytes
                )
            )
            if not page:
                break
            pages.append([stored.index(record) for record in page])
            after = page[-1].sequence_number
        return pages

    def test_count_records_counts_a_targets_events_in_a_range(
        self, records: RecordStorageAdapter
    ) -> None:
        store = EventStore(records)
        for category, stream, count in (("a", "x", 3), ("b", "y", 2), ("a", "z", 2)):
            store.stream(category=category, stream=stream).publish(
                events=[NewEvent(name="n", payload={}) for _ in range(count)]
            )
        # Sequence numbers: a/x 0-2, b/y 3-4, a/z 5-6.
        a, z = identifier.Category(category="a"), identifier.Stream(category="a", stream="z")
        by_stream = Query(items=[QueryItem(category="a", stream="x")])
        ranges: list[tuple[Scannable, int, int, int]] = [
            (identifier.Log(), NO_EVENTS, 6, 7),
            (identifier.Log(), 2, 5, 3),
            (a, NO_EVENTS, 6, 5),
            (a, 1, 5, 2),
            (a, 6, 6, 0),
            (a, 5, 2, 0),
            (z, 4, 6, 2),
            (z, 5, 5, 0),
            (identifier.Stream(category="b", stream="y"), 3, 6, 1),
            (by_stream, 0, 6, 2),
        ]
        for target, after, through, expected in ranges:
            counted = records.count_records(
                target=target, after_sequence_number=after, through=through
            )
            assert (target, after, through, counted) == (target, after, through, expected)
