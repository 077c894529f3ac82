"""The server's log tail as a window on the log, without its storage task: which cursors
it covers, what ``after`` hands a subscriber under count and byte bounds and how far it
says it looked, and how skips and trimming move the window.

The tail's task delivers each batch it reads to ``_append``; the tests call that directly
with records made here, so no storage is read and no task runs.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from logicblocks.event.server.log_tail import (
    _TAIL_BYTES,
    _TAIL_EVENTS,
    LogTail,
    _Entry,
)
from logicblocks.event.storage.asynchronous import ThreadedRecordStorage
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import trusted_event_record
from logicblocks.event.types import identifier

MOMENT = datetime(2024, 5, 1, tzinfo=UTC)
LOG = identifier.Log()
ORDERS = identifier.Category(category="orders")
O_1 = identifier.Stream(category="orders", stream="o-1")


def entry(sequence_number: int, stream: str = "o-1", payload_size: int = 2) -> _Entry:
    """The event at ``sequence_number`` in ``stream`` (category from its prefix)."""
    category = {"o": "orders", "i": "invoices"}[stream[0]]
    payload = "{}" if payload_size == 2 else '"' + "x" * (payload_size - 2) + '"'
    return _Entry.of(
        trusted_event_record(
            f"e-{sequence_number}",
            "placed",
            stream,
            category,
            0,
            sequence_number,
            payload,
            MOMENT,
            MOMENT,
        )
    )


def tail_of(*entries: _Entry) -> LogTail:
    """A tail of an empty store, after its task delivered ``entries`` in one batch."""
    tail = LogTail(ThreadedRecordStorage(InMemoryStorageAdapter(), ThreadPoolExecutor(1)))
    if entries:
        tail._append(list(entries), entries[-1].sequence_number)
    return tail


def after(
    tail: LogTail, cursor: int, target: Scannable = LOG, limit: int = 100, max_bytes: int = 1000
) -> tuple[list[int], int]:
    events, examined = tail.after(cursor, target, limit, max_bytes)
    return [event.sequence_number for event in events], examined


MIXED = [
    entry(0, "o-1"),
    entry(1, "o-2"),
    entry(2, "i-1"),
    entry(3, "o-1"),
    entry(4, "i-1"),
    entry(5, "o-2"),
]


def test_an_empty_tail_covers_the_start_and_hands_out_nothing() -> None:
    tail = tail_of()

    assert tail.end == -1
    assert tail.covers(-1)
    assert after(tail, -1) == ([], -1)


def test_after_hands_out_the_events_after_the_cursor_in_order() -> None:
    tail = tail_of(*MIXED)

    assert tail.end == 5
    assert after(tail, -1) == ([0, 1, 2, 3, 4, 5], 5)
    assert after(tail, 3) == ([4, 5], 5)
    assert after(tail, 5) == ([], 5)


@pytest.mark.parametrize(
    ("target", "expected"),
    [(ORDERS, [0, 1, 3, 5]), (O_1, [0, 3]), (identifier.Category(category="refunds"), [])],
    ids=["category", "stream", "no match"],
)
def test_after_filters_by_target_and_says_it_looked_to_the_end(
    target: Scannable, expected: list[int]
) -> None:
    # Looked to 5 even when the target's last event is earlier: the subscriber may
    # checkpoint there without reading storage.
    assert after(tail_of(*MIXED), -1, target) == (expected, 5)


def test_a_count_bound_ends_the_look_at_the_last_event_handed_out() -> None:
    tail = tail_of(*MIXED)

    assert after(tail, -1, ORDERS, limit=2) == ([0, 1], 1)
    # Resuming where it said it looked misses nothing and repeats nothing.
    assert after(tail, 1, ORDERS, limit=2) == ([3, 5], 5)


def test_a_byte_bound_stops_before_the_event_that_would_pass_it() -> None:
    tail = tail_of(entry(0, payload_size=40), entry(1, payload_size=40), entry(2, payload_size=40))

    assert after(tail, -1, max_bytes=100) == ([0, 1], 1)
    assert after(tail, -1, max_bytes=120) == ([0, 1, 2], 2)
    assert after(tail, 1, max_bytes=100) == ([2], 2)


def test_an_event_larger_than_the_byte_bound_still_comes_alone() -> None:
    tail = tail_of(entry(0, payload_size=500), entry(1))

    assert after(tail, -1, max_bytes=100) == ([0], 0)
    assert after(tail, 0, max_bytes=100) == ([1], 1)


def test_events_of_other_targets_take_nothing_from_the_byte_bound() -> None:
    tail = tail_of(
        entry(0, "o-1", payload_size=60),
        entry(1, "i-1", payload_size=900),
        entry(2, "o-1", payload_size=60),
        entry(3, "o-1", payload_size=60),
    )

    assert after(tail, -1, ORDERS, max_bytes=150) == ([0, 2], 2)


def test_a_later_batch_extends_the_window() -> None:
    tail = tail_of(*MIXED[:3])
    tail._append(MIXED[3:], 5)

    assert tail.covers(-1)
    assert after(tail, 1, O_1) == ([3], 5)


def test_a_batch_the_tail_has_seen_changes_nothing() -> None:
    tail = tail_of(*MIXED)
    tail._append([entry(4, "o-1"), entry(5, "o-1")], 5)

    assert after(tail, 3) == ([4, 5], 5)
    assert after(tail, 3, O_1) == ([], 5)


def test_a_skip_restarts_the_window_after_it() -> None:
    # Nobody subscribed, or too far to read: the thread moves the end without events.
    tail = tail_of(*MIXED)
    tail._append([], 100)

    assert tail.end == 100
    assert tail.covers(100)
    assert not tail.covers(99)
    assert after(tail, 100) == ([], 100)
    tail._append([entry(101)], 101)
    assert after(tail, 100) == ([101], 101)


def test_a_batch_that_does_not_follow_the_end_is_a_skip() -> None:
    tail = tail_of(*MIXED)
    tail._append([entry(8), entry(9)], 9)

    assert not tail.covers(5)
    assert tail.covers(9)
    assert after(tail, 9) == ([], 9)


def test_the_window_keeps_the_most_recent_events_when_it_holds_too_many() -> None:
    entries = [entry(number) for number in range(2 * _TAIL_EVENTS + 1)]
    tail = tail_of(*entries)
    first = len(entries) - _TAIL_EVENTS

    assert not tail.covers(first - 2)
    assert tail.covers(first - 1)
    assert after(tail, first - 1, limit=1) == ([first], first)
    assert after(tail, len(entries) - 2) == ([len(entries) - 1], len(entries) - 1)


def test_the_window_keeps_the_most_recent_events_when_it_holds_too_many_bytes() -> None:
    # Nine events of an eighth of the byte budget each: over it by one.
    size = _TAIL_BYTES // 8
    tail = tail_of(*(entry(number, payload_size=size) for number in range(9)))

    assert not tail.covers(-1)
    assert tail.covers(8)
    first = next(cursor + 1 for cursor in range(-1, 9) if tail.covers(cursor))
    assert 1 <= first <= 8
    # Within the budget again, and the newest event is always kept.
    assert (9 - first) * size <= _TAIL_BYTES
    assert after(tail, 7, max_bytes=size) == ([8], 8)
