"""The group-state gauges of /metrics: a scrape never waits long for storage, never fails
for it, and never starts a second read while one is under way."""

import threading
from collections.abc import Sequence

from logicblocks.event.server.group_metrics import GroupStates
from logicblocks.event.store import StorageUnavailableError
from logicblocks.event.store.groups import FROM_BEGINNING, GroupInfo, GroupSettings
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import identifier

INFO = GroupInfo(
    name="billing",
    target=identifier.Log(),
    start=FROM_BEGINNING,
    settings=GroupSettings(),
    lag=7,
    parked=2,
    members=("worker-1",),
)
SHOWN = {
    ("eventstore_group_lag", "billing"): 7,
    ("eventstore_group_parked_events", "billing"): 2,
    ("eventstore_group_members", "billing"): 1,
}


def samples(states: GroupStates) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels["group"]): sample.value
        for family in states.collect()
        for sample in family.samples
    }


class BlockedRead:
    """A storage read that does not return until ``release`` is set; counts its calls."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> Sequence[GroupInfo]:
        self.calls += 1
        self.release.wait(30)
        return [INFO]


def test_a_slow_read_leaves_the_gauges_out_and_is_not_started_twice() -> None:
    states = GroupStates(wait=0.01)
    read = BlockedRead()
    states.read = read
    try:
        assert samples(states) == {}
        assert samples(states) == {}
        assert read.calls == 1
        read.release.set()
        assert wait_until(lambda: samples(states) == SHOWN, 10)
    finally:
        read.release.set()
        states.close()


def test_a_failed_read_leaves_the_gauges_out_without_failing_the_scrape() -> None:
    def unreachable() -> Sequence[GroupInfo]:
        raise StorageUnavailableError("the database cannot be reached")

    states = GroupStates()
    states.read = unreachable
    try:
        assert samples(states) == {}
        states.read = lambda: [INFO]
        assert samples(states) == SHOWN
    finally:
        states.close()


def test_a_closed_collector_reads_nothing() -> None:
    read = BlockedRead()
    read.release.set()
    states = GroupStates()
    states.read = read
    states.close()
    assert samples(states) == {}
    assert read.calls == 0
