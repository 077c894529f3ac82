"""Waiting for the head when another writer (another adapter, another process) moves it."""

import threading
from pathlib import Path

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import NewEvent


def publish(adapter: SqliteStorageAdapter, count: int) -> None:
    EventStore(adapter).stream(category="c", stream="s").publish(
        events=[NewEvent(name="e", payload={}) for _ in range(count)]
    )


def test_a_waiter_that_knows_a_newer_head_than_its_signal_gets_the_real_head(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    with SqliteStorageAdapter(path=path) as writer, SqliteStorageAdapter(path=path) as reader:
        publish(writer, 3)
        assert reader.wait_for_head_change(NO_EVENTS, 0.01) == 2
        # The reader's in-process signal still says 2: only the other adapter wrote.
        publish(writer, 2)
        # A caller that read events up to 4 waits past 4; it must not be told "2" at once
        # (which made subscribers spin), but the head as read once the wait is over.
        assert reader.wait_for_head_change(4, 0.05) == 4


def test_a_subscription_follows_events_another_adapter_writes(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SqliteStorageAdapter(path=path) as writer, SqliteStorageAdapter(path=path) as reader:
        with EventStore(reader).log().subscribe() as subscription:
            publish(writer, 2)
            received = []
            watchdog = threading.Timer(30, subscription.close)
            watchdog.start()
            try:
                for event in subscription:
                    received.append(event.sequence_number)
                    if len(received) == 2:
                        publish(writer, 1)
                    if len(received) == 3:
                        break
            finally:
                watchdog.cancel()
        assert received == [0, 1, 2]
