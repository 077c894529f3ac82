"""Many writer processes on one PostgreSQL database, with a reader following the log."""

import threading
import uuid

from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.records import EventRecord
from tests.support.publish_load import (
    check_log,
    finish_writer_processes,
    start_writer_processes,
)

PROCESSES = 5
WRITERS_PER_PROCESS = 2
PUBLISHES = 60


def follow(adapter: PostgresStorageAdapter, stop: threading.Event, seen: list[EventRecord]) -> None:
    """Page "after the last sequence number seen" until ``stop`` and then caught up."""
    after = -1
    while True:
        stopping = stop.is_set()
        page = list(adapter.read_records(after_sequence_number=after, limit=50))
        seen.extend(page)
        if page:
            after = page[-1].sequence_number
        elif stopping:
            return
        else:
            adapter.wait_for_head_change(after, timeout=1.0)


def test_writer_processes_keep_every_invariant_and_a_follower_misses_nothing(
    postgres_url: str,
) -> None:
    table = f"e_{uuid.uuid4().hex}"
    parameters = TableParameters(events_table_name=table)
    connection = ConnectionParameters.from_url(postgres_url)
    with PostgresStorageAdapter(
        connection_source=connection, table_parameters=parameters
    ) as adapter:
        stop = threading.Event()
        seen: list[EventRecord] = []
        reader = threading.Thread(target=follow, args=(adapter, stop, seen))
        reader.start()
        try:
            processes = start_writer_processes(
                [["--postgres", postgres_url, "--table", table]] * PROCESSES,
                writers=WRITERS_PER_PROCESS,
                publishes=PUBLISHES,
            )
            outcomes = finish_writer_processes(processes, timeout=240)
        finally:
            stop.set()
            reader.join(timeout=120)
        assert not reader.is_alive()
        assert len({outcome.writer for outcome in outcomes}) >= 8

        log = list(adapter.scan())
        check_log(log, outcomes)
        # The follower saw every event exactly once and in order: a late commit of a lower
        # number would show here as a hole, since it only ever asked for what came after.
        assert [record.sequence_number for record in seen] == list(range(len(log)))
        assert [record.id for record in seen] == [event.id for event in log]
