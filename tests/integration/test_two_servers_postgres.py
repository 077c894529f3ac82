"""Two server processes on one PostgreSQL database, with writers spread over both."""

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc

from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
    StorageAdapter,
)
from logicblocks.event.types import StoredEvent
from tests.support.postgres import free_port
from tests.support.publish_load import (
    check_log,
    finish_writer_processes,
    start_writer_processes,
)

PROJECT = Path(__file__).resolve().parents[2]
SERVE = str(Path(sys.executable).parent / "logicblocks-event-store")
PROCESSES = 5
WRITERS_PER_PROCESS = 2
PUBLISHES = 40


@contextmanager
def server_process(storage_url: str) -> Iterator[str]:
    """Run ``logicblocks-event-store serve`` on a free port; yield its target."""
    target = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [SERVE, "serve", "--listen", target, "--storage", storage_url, "--log-level", "WARNING"],
        cwd=PROJECT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with grpc.insecure_channel(target) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
        yield target
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr


def follow(adapter: StorageAdapter, stop: threading.Event, seen: list[StoredEvent]) -> None:
    """Read "after the last sequence number seen" through a server until stopped and caught up."""
    after = -1
    while True:
        stopping = stop.is_set()
        page = list(adapter.scan(after_sequence_number=after))
        seen.extend(page)
        if page:
            after = page[-1].sequence_number
        elif stopping:
            return


def test_two_servers_on_one_database_keep_every_invariant(postgres_database: str) -> None:
    with ExitStack() as stack:
        targets = [stack.enter_context(server_process(postgres_database)) for _ in range(2)]
        reader = stack.enter_context(GrpcStorageAdapter(target=targets[1]))
        stop = threading.Event()
        seen: list[StoredEvent] = []
        follower = threading.Thread(target=follow, args=(reader, stop, seen))
        follower.start()
        try:
            writers = start_writer_processes(
                [["--grpc", targets[index % 2]] for index in range(PROCESSES)],
                writers=WRITERS_PER_PROCESS,
                publishes=PUBLISHES,
            )
            outcomes = finish_writer_processes(writers, timeout=240)
        finally:
            stop.set()
            follower.join(timeout=120)
        assert not follower.is_alive()
        assert len({outcome.writer for outcome in outcomes}) >= 8

        with PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_database)
        ) as direct:
            log = list(direct.scan())
        check_log(log, outcomes)
        through_server = list(reader.scan())
        assert through_server == log
        # Commit order: the follower only ever asked for events after the last it had
        # seen, so an event committed after a higher-numbered one would be missing here.
        assert [e.sequence_number for e in seen] == list(range(len(log)))
        assert [e.id for e in seen] == [e.id for e in log]
