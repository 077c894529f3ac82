"""SQLite durability against real processes killed with SIGKILL.

A child process (``sqlite_publisher.py``) publishes and prints what each returned publish
acknowledged; the test kills it with ``kill -9`` and reopens the file.
"""

import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import GrpcStorageAdapter, SqliteStorageAdapter
from logicblocks.event.types import NewEvent, StoredEvent, identifier

PUBLISHER = Path(__file__).with_name("sqlite_publisher.py")
LINE_TIMEOUT = 60.0


class Publisher:
    """A running child (``sqlite_publisher.py`` by default), its output lines in a queue."""

    def __init__(self, *arguments: str, script: Path = PUBLISHER) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), *arguments],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def next_line(self) -> str:
        """The next line printed; fails if the child exits or says nothing for a minute."""
        line = self.lines.get(timeout=LINE_TIMEOUT)
        assert line is not None, f"publisher exited with {self.process.wait()}"
        return line

    def kill(self) -> list[str]:
        """SIGKILL the child; return the lines it printed that were not read yet."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=LINE_TIMEOUT)
        self._reader.join(timeout=LINE_TIMEOUT)
        rest: list[str] = []
        while (line := self.lines.get_nowait()) is not None:
            rest.append(line)
        return rest

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=LINE_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def publishers() -> Iterator[list[Publisher]]:
    started: list[Publisher] = []
    yield started
    for publisher in started:
        publisher.close()


def read_log(path: Path) -> list[StoredEvent]:
    with SqliteStorageAdapter(path=path) as adapter:
        return list(EventStore(adapter).log())


def test_every_acknowledged_publish_survives_a_kill(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    path = tmp_path / "events.db"
    publisher = Publisher("acks", str(path), "acked")
    publishers.append(publisher)
    assert publisher.next_line() == "ready"
    acknowledged = [publisher.next_line() for _ in range(200)]
    # Lines already printed were acknowledged too: the kill lands right after a publish
    # returned, or in the middle of the next one.
    acknowledged += publisher.kill()

    events = read_log(path)
    stored_ids = [event.id for event in events]
    assert set(acknowledged) <= set(stored_ids)
    assert [event.position for event in events] == list(range(len(events)))
    assert [event.sequence_number for event in events] == list(range(len(events)))
    # At most the one publish in flight at the kill is stored without its acknowledgement.
    assert len(stored_ids) - len(acknowledged) in (0, 1)


def wal_changed(wal: Path, before: int | None) -> bool:
    try:
        return wal.stat().st_mtime_ns != before
    except FileNotFoundError:
        return False


def wal_mtime(wal: Path) -> int | None:
    try:
        return wal.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def test_a_kill_in_the_middle_of_a_batch_leaves_no_part_of_it(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    path = tmp_path / "events.db"
    wal = tmp_path / "events.db-wal"
    size = 3000
    acknowledged: set[str] = set()
    for _ in range(3):
        publisher = Publisher("batches", str(path), str(size))
        publishers.append(publisher)
        assert publisher.next_line() == "ready"
        pid = publisher.process.pid
        assert publisher.next_line() == "begin 0"
        assert publisher.next_line() == "ack 0"
        assert publisher.next_line() == "begin 1"
        # Kill once batch 1's transaction has started writing pages to the WAL.
        before = wal_mtime(wal)
        deadline = threading.Event()
        timer = threading.Timer(LINE_TIMEOUT, deadline.set)
        timer.start()
        try:
            while not wal_changed(wal, before) and not deadline.wait(0.001):
                pass
        finally:
            timer.cancel()
        lines = ["ack 0", *publisher.kill()]
        acknowledged |= {f"{pid}-{line.split()[1]}" for line in lines if line.startswith("ack")}

        events = read_log(path)
        assert [e.sequence_number for e in events] == list(range(len(events)))
        per_stream: dict[str, list[int]] = {}
        for event in events:
            per_stream.setdefault(event.stream, []).append(event.position)
        for positions in per_stream.values():
            assert positions == list(range(len(positions)))
        batches = Counter(event.payload["batch"] for event in events)
        assert all(count == size for count in batches.values()), "a batch was stored in part"
        assert acknowledged <= set(batches)


def test_processes_sharing_a_file_keep_numbers_contiguous(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    path = tmp_path / "events.db"
    batches, size = 40, 3
    for _ in range(3):
        publishers.append(Publisher("count", str(path), str(batches), str(size)))
    for publisher in publishers:
        assert publisher.next_line() == "ready"
    for publisher in publishers:
        assert publisher.next_line() == "done"
        assert publisher.process.wait(timeout=LINE_TIMEOUT) == 0

    with SqliteStorageAdapter(path=path) as adapter:
        events = list(adapter.scan(target=identifier.Stream(category="shared", stream="s")))
    assert len(events) == 3 * batches * size
    assert [e.position for e in events] == list(range(len(events)))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for start in range(0, len(events), size):
        assert len({e.payload["batch"] for e in events[start : start + size]}) == 1


def test_the_database_is_in_wal_mode_after_opening(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SqliteStorageAdapter(path=path).close()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


SERVER = Path(__file__).with_name("sqlite_server.py")


def test_a_publish_acknowledged_over_grpc_survives_a_kill_of_the_server(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    path = tmp_path / "events.db"
    server = Publisher(str(path), script=SERVER)
    publishers.append(server)
    listening = server.next_line()
    assert listening.startswith("listening ")
    target = listening.split()[1]

    acknowledged: list[str] = []
    stopped: list[BaseException] = []
    enough = threading.Event()

    def publish() -> None:
        # One attempt per publish: a retry after the kill would only fail again.
        with GrpcStorageAdapter(target=target, attempts=1, timeout=10) as client:
            stream = EventStore(client).stream(category="acks", stream="s")
            number = 0
            try:
                while True:
                    event_id = f"acked-{number}"
                    stream.publish(events=[NewEvent(name="acked", payload={}, id=event_id)])
                    acknowledged.append(event_id)
                    if len(acknowledged) == 200:
                        enough.set()
                    number += 1
            except StorageUnavailableError as error:
                stopped.append(error)
            finally:
                enough.set()

    client_thread = threading.Thread(target=publish)
    client_thread.start()
    assert enough.wait(timeout=LINE_TIMEOUT)
    server.kill()
    client_thread.join(timeout=LINE_TIMEOUT)
    assert not client_thread.is_alive()
    assert stopped, "the client kept publishing after the server was killed"

    stored_ids = {event.id for event in read_log(path)}
    assert len(acknowledged) >= 200
    assert set(acknowledged) <= stored_ids
