"""A member's held partitions: which one the next delivery comes from, credit, leases."""

import math

from logicblocks.event.storage.groups.dispatch import PartitionDispatcher
from logicblocks.event.storage.groups.holdings import Holdings, Owned
from logicblocks.event.storage.groups.records import PartitionProgress
from logicblocks.event.store.groups import GroupSettings
from tests.unit.test_group_dispatch import record

SETTINGS = GroupSettings(ack_timeout=10.0, max_in_flight=3, retry_backoff=0.0)
LEASE = 100.0


def held(*partitions: list[tuple[int, str]], settings: GroupSettings = SETTINGS) -> Holdings:
    """Holdings of one partition per argument, fed ``(sequence number, stream)`` events."""
    holdings = Holdings()
    for index, events in enumerate(partitions):
        dispatcher = PartitionDispatcher(
            progress=PartitionProgress(partition=index, checkpoint=-1),
            settings=settings,
            buffer_limit=100,
        )
        owned = Owned(dispatcher, LEASE)
        holdings.add(owned, 0.0)
        for number, stream in events:
            assert dispatcher.offer(record(number, stream))
        holdings.touch(owned, 0.0)
    return holdings


def next_number(holdings: Holdings, now: float = 0.0) -> int | None:
    picked = holdings.hand_out(now, SETTINGS)
    return None if picked is None else picked[1].record.sequence_number


def test_the_lowest_ready_sequence_number_of_any_partition_goes_first() -> None:
    holdings = held([(1, "a"), (4, "b")], [(0, "c"), (2, "d")], [(3, "e")])
    assert [next_number(holdings) for _ in range(3)] == [0, 1, 2]
    assert holdings.in_flight == 3


def test_credit_bounds_the_deliveries_out_and_a_settlement_frees_it() -> None:
    holdings = held([(n, f"s-{n}") for n in range(5)])
    picked = [holdings.hand_out(0.0, SETTINGS) for _ in range(3)]
    assert next_number(holdings) is None
    owned, handout = picked[0] or (None, None)
    assert owned is not None and handout is not None
    assert holdings.settle(owned, handout, None, 0.0)
    assert holdings.in_flight == 2
    assert next_number(holdings) == 3


def test_a_stream_settled_makes_its_next_event_ready_in_order() -> None:
    holdings = held([(0, "a"), (1, "a")], [(2, "b")])
    owned, handout = holdings.hand_out(0.0, SETTINGS) or (None, None)
    assert owned is not None and handout is not None
    assert next_number(holdings) == 2
    holdings.settle(owned, handout, None, 0.0)
    assert next_number(holdings) == 1


def test_draining_partitions_and_short_leases_hand_out_nothing_until_refreshed() -> None:
    holdings = held([(0, "a")], [(1, "b")])
    holdings.owned[0].draining = True
    holdings.owned[1].lease_until = SETTINGS.ack_timeout - 1
    assert next_number(holdings) is None
    holdings.owned[0].draining = False
    holdings.owned[1].lease_until = LEASE
    assert next_number(holdings) is None  # nothing tells the holdings until refresh()
    holdings.refresh(0.0)
    assert [next_number(holdings), next_number(holdings)] == [0, 1]


def test_a_deadline_passing_fails_the_delivery_and_hands_it_out_again() -> None:
    holdings = held([(0, "a")])
    assert next_number(holdings, 1.0) == 0
    assert holdings.timed_due == 11.0
    assert holdings.expire(10.9) == 0
    picked = holdings.hand_out(11.0, SETTINGS)
    assert picked is not None and picked[1].attempt == 2
    assert holdings.in_flight == 1


def test_a_discarded_partition_no_longer_counts_and_its_settlements_change_nothing() -> None:
    holdings = held([(0, "a")], [(1, "b")])
    owned, handout = holdings.hand_out(0.0, SETTINGS) or (None, None)
    assert owned is not None and handout is not None
    holdings.discard(0)
    assert holdings.in_flight == 0
    assert not holdings.settle(owned, handout, None, 0.0)
    assert next_number(holdings) == 1
    holdings.discard_all()
    assert (holdings.owned, holdings.in_flight) == ({}, 0)
    assert next_number(holdings) is None
    assert holdings.timed_due < math.inf  # a hint: the next look finds nothing due
