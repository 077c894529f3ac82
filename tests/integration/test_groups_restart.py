"""Groups continue where their stored state says across a server restart: one resumed
after its acknowledged events, one created from the end at the head it was created at.

A server process on the embedded default (a SQLite file), stopped and started again on
the same file; the clients are the project's gRPC client.
"""

import signal
from pathlib import Path

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.groups import FROM_END, GroupSettings
from logicblocks.event.types import NewEvent
from tests.support.server_process import COMMAND, ServerProcess


def publish(target: str, count: int) -> None:
    with GrpcStorageAdapter(target=target) as adapter:
        EventStore(adapter).stream(category="orders", stream="o-1").publish(
            events=[NewEvent(name="placed", payload={}) for _ in range(count)]
        )


def test_groups_resume_after_a_restart_where_their_stored_state_says(tmp_path: Path) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", f"sqlite:///{tmp_path}/e.db"]
    with ServerProcess(serve) as first:
        publish(first.target, 10)
        with GrpcStorageAdapter(target=first.target) as adapter:
            store = EventStore(adapter)
            # A short ack timeout: the held delivery keeps its stream until it passes.
            store.log().consumer_group("resumed").create(settings=GroupSettings(ack_timeout=1.0))
            store.log().consumer_group("from-end").create(start=FROM_END)
            with store.consumer_group("resumed").consume() as deliveries:
                for _ in range(4):
                    next(deliveries).ack()
                held = next(deliveries)  # delivered, never settled: owed again
            assert held.event.sequence_number == 4
        first.signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0

    with ServerProcess(serve) as second:
        publish(second.target, 2)
        with GrpcStorageAdapter(target=second.target) as adapter:
            store = EventStore(adapter)
            with store.consumer_group("resumed").consume() as deliveries:
                resumed = next(deliveries)
            with store.consumer_group("from-end").consume() as deliveries:
                from_end = next(deliveries)
    assert resumed.event.sequence_number == 4
    assert from_end.event.sequence_number == 10
