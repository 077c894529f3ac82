"""Two pieces every storage engine shares, without storage: the rule that bounds a page by
bytes (``within_bytes``, with ``payload_bytes``) and the in-process signal that wakes
readers waiting for the head to move (``HeadSignal``)."""

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice

import pytest

from logicblocks.event.storage.engine import HeadSignal, payload_bytes, within_bytes
from logicblocks.event.store.records import EventRecord

# Long enough never to run out on a loaded machine: a wait that should be woken or return
# at once but is not shows as a wrong answer, only later.
GENEROUS = 30.0
TINY = 0.001


def identity(size: int) -> int:
    return size


def page(sizes: list[int], max_bytes: int | None) -> list[int]:
    return list(within_bytes(sizes, max_bytes, identity))


def test_no_bound_passes_every_item() -> None:
    assert page([5, 500, 5_000], None) == [5, 500, 5_000]


def test_items_up_to_exactly_the_budget_are_taken() -> None:
    assert page([3, 3, 3], 6) == [3, 3]
    assert page([3, 3, 3], 9) == [3, 3, 3]


def test_the_page_stops_before_the_item_that_would_pass_the_budget() -> None:
    assert page([3, 3, 3], 8) == [3, 3]
    # Later items that would fit are not taken: a page is a run, never a selection.
    assert page([3, 6, 1], 8) == [3]


def test_the_first_item_always_comes_however_large() -> None:
    assert page([10, 1], 5) == [10]
    assert page([10], 1) == [10]


def test_no_items_make_an_empty_page() -> None:
    assert page([], 10) == []
    assert page([], None) == []


def test_pages_are_read_lazily() -> None:
    consumed: list[int] = []

    def sizes() -> Iterator[int]:
        # Finite, so that an eager page fails the test instead of hanging it.
        for number in range(100):
            consumed.append(number)
            yield 4

    bounded = within_bytes(sizes(), 10, identity)
    assert consumed == []

    assert list(bounded) == [4, 4]
    # The item after the budget is read (to know it does not fit) and nothing more.
    assert consumed == [0, 1, 2]
    assert list(islice(within_bytes(sizes(), None, identity), 3)) == [4, 4, 4]


def record(payload: str) -> EventRecord:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    return EventRecord("e", "placed", "o-1", "orders", 0, 0, payload, moment, moment)


@pytest.mark.parametrize(
    ("payload", "size"),
    [('{"a":1}', 7), ('{"a":"é"}', 10), ('{"a":"注文"}', 14), ('{"a":"😀"}', 12)],
)
def test_a_payload_is_measured_in_utf8_bytes(payload: str, size: int) -> None:
    assert payload_bytes(record(payload)) == size


def test_a_page_of_records_is_bounded_by_their_payload_bytes() -> None:
    records = [record('{"a":"é"}'), record('{"a":"é"}'), record('{"a":"é"}')]

    # Counted in characters the three would fit in 27; in bytes only two do.
    assert len(list(within_bytes(records, 27, payload_bytes))) == 2


def storage_head(head: int) -> Callable[[], int]:
    return lambda: head


def unread() -> int:
    raise AssertionError("storage read although the signal knew the head")


def test_advance_only_grows_the_head() -> None:
    signal = HeadSignal()
    signal.advance(5)
    # A writer overtaken between its commit and its call reports an older head.
    signal.advance(3)

    assert signal.wait(4, GENEROUS, unread) == 5


def test_a_wait_returns_at_once_when_the_head_is_already_past_the_known_one() -> None:
    signal = HeadSignal()
    signal.advance(7)

    assert signal.wait(3, GENEROUS, unread) == 7


def test_a_first_wait_reads_the_head_from_storage() -> None:
    # Nothing committed in this process yet: the head is whatever storage holds.
    signal = HeadSignal()

    assert signal.wait(3, GENEROUS, storage_head(9)) == 9
    assert signal.wait(8, GENEROUS, unread) == 9


def test_a_wait_times_out_to_the_head_read_from_storage() -> None:
    signal = HeadSignal()
    signal.advance(2)

    # Written by another process: no advance() here, found on re-reading.
    assert signal.wait(2, TINY, storage_head(4)) == 4
    # And remembered, so the next waiter need not time out for it.
    assert signal.wait(3, GENEROUS, unread) == 4


def test_a_wait_that_times_out_with_nothing_new_returns_the_stored_head() -> None:
    signal = HeadSignal()
    signal.advance(2)

    assert signal.wait(2, TINY, storage_head(2)) == 2


def test_an_advance_wakes_a_waiter_in_another_thread() -> None:
    signal = HeadSignal()
    signal.advance(5)
    waiting = threading.Event()
    results: list[int] = []

    def woken_too_late() -> int:
        raise AssertionError("the waiter timed out instead of being woken")

    def waiter() -> None:
        waiting.set()
        results.append(signal.wait(5, GENEROUS, woken_too_late))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(GENEROUS)
    signal.advance(6)
    thread.join(GENEROUS)

    assert not thread.is_alive()
    assert results == [6]
