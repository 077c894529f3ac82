"""The PostgreSQL adapter survives killed writers and database restarts."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.postgres import PostgresCluster, hold_write_lock, lock_waiters

PROJECT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# A writer that stops for good while its transaction holds the write lock: inside the
# adapter (its condition check, under the lock and before the insert, never returns), or
# by hand after inserting rows, as a writer dying between insert and commit would.
_BLOCKED_IN_ADAPTER = """
import sys, threading
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters, PostgresStorageAdapter, TableParameters,
)
from logicblocks.event.store import stream_is_empty
from logicblocks.event.storage.postgres import group_commit
from logicblocks.event.types import NewEvent

# Stall the writer where it judges conditions: inside its transaction, the lock held.
def hold(*arguments):
    print("holding", flush=True)
    threading.Event().wait()

group_commit.ensure_conditions = hold

adapter = PostgresStorageAdapter(
    connection_source=ConnectionParameters.from_url(sys.argv[1]),
    table_parameters=TableParameters(events_table_name=sys.argv[2]),
)
EventStore(adapter).stream(category="c", stream="victim").publish(
    events=[NewEvent(name="never", payload={}) for _ in range(3)], conditions={stream_is_empty()}
)
"""

_BLOCKED_AFTER_INSERT = """
import sys, threading, psycopg
from psycopg import sql
from logicblocks.event.store.adapters import TableParameters

table = TableParameters(events_table_name=sys.argv[2])
connection = psycopg.connect(sys.argv[1])
connection.execute("SELECT pg_advisory_xact_lock(%s)", (table.lock_key,))
head = connection.execute(
    sql.SQL("SELECT coalesce(max(sequence_number), -1) FROM {}").format(
        sql.Identifier(table.events_table_name)
    )
).fetchone()[0]
connection.execute(
    sql.SQL(
        "INSERT INTO {} (sequence_number, id, name, category, stream, position, payload,"
        " observed_at, occurred_at) VALUES (%s, 'partial', 'never', 'c', 'victim', 0, '{{}}',"
        " now(), now())"
    ).format(sql.Identifier(table.events_table_name)),
    (head + 1,),
)
print("holding", flush=True)
threading.Event().wait()
"""


def eventually(call: Callable[[], T], timeout: float = 60.0) -> T:
    """``call()`` once it stops raising ``StorageUnavailableError``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except StorageUnavailableError:
            assert time.monotonic() < deadline, "storage still unavailable"


@pytest.mark.parametrize("writer", [_BLOCKED_IN_ADAPTER, _BLOCKED_AFTER_INSERT])
def test_a_writer_killed_holding_the_lock_leaves_nothing_and_frees_the_lock(
    postgres_url: str, writer: str
) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(postgres_url),
        table_parameters=table,
        lock_timeout=120,
    ) as adapter:
        store = EventStore(adapter)
        store.stream(category="c", stream="s").publish(events=[NewEvent(name="n", payload={})])
        child = subprocess.Popen(
            [sys.executable, "-c", writer, postgres_url, table.events_table_name],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "holding"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)

        # Waits for the lock (up to lock_timeout) if the dead writer still held it.
        stored = store.stream(category="c", stream="s").publish(
            events=[NewEvent(name="n", payload={})]
        )
        assert (stored[0].sequence_number, stored[0].position) == (1, 1)
        assert store.stream(category="c", stream="victim").read() == []
        assert [e.sequence_number for e in store.log()] == [0, 1]


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this module's own: restarting it disturbs no other test."""
    with PostgresCluster() as cluster:
        yield cluster


def test_after_a_database_restart_calls_in_flight_fail_and_later_calls_succeed(
    own_cluster: PostgresCluster,
) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    parameters = ConnectionParameters.from_url(own_cluster.url)
    with PostgresStorageAdapter(
        connection_source=parameters, table_parameters=table, lock_timeout=120
    ) as adapter:
        store = EventStore(adapter)
        stream = store.stream(category="c", stream="s")
        stream.publish(events=[NewEvent(name="before", payload={})])
        assert adapter.wait_for_head_change(NO_EVENTS, timeout=30) == 0  # starts the listener

        # A publish in flight: it waits for the write lock a session holds.
        holder = hold_write_lock(own_cluster.url, table)
        in_flight: list[BaseException] = []

        def publish() -> None:
            try:
                stream.publish(events=[NewEvent(name="in-flight", payload={})])
            except BaseException as error:
                in_flight.append(error)

        thread = threading.Thread(target=publish)
        thread.start()
        try:
            assert wait_until(lambda: lock_waiters(own_cluster, table) == 1, timeout=30)
            # Immediate: every backend exits at once, as in a crash. (A fast shutdown ends
            # the lock holder first, and the waiting publish may get the lock and commit.)
            own_cluster.restart("immediate")
        finally:
            thread.join(timeout=60)
            holder.close()
        assert len(in_flight) == 1
        assert isinstance(in_flight[0], StorageUnavailableError)
        assert isinstance(in_flight[0].__cause__, psycopg.OperationalError)

        # The same adapter, no reconnect by the caller.
        after = stream.publish(events=[NewEvent(name="after", payload={})])
        assert (after[0].sequence_number, after[0].position) == (1, 1)
        assert [e.name for e in stream.read()] == ["before", "after"]

        # The listener reconnects too: a commit elsewhere wakes a waiter here.
        with PostgresStorageAdapter(connection_source=parameters, table_parameters=table) as other:
            EventStore(other).stream(category="c", stream="t").publish(
                events=[NewEvent(name="elsewhere", payload={})]
            )
        assert adapter.wait_for_head_change(1, timeout=30) == 2


def test_calls_while_the_database_is_down_fail_as_unavailable(
    own_cluster: PostgresCluster,
) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(own_cluster.url),
        table_parameters=table,
        pool_timeout=2,
    ) as adapter:
        store = EventStore(adapter)
        stream = store.stream(category="c", stream="s")
        stream.publish(events=[NewEvent(name="before", payload={})])
        own_cluster.stop_server("fast")
        try:
            with pytest.raises(StorageUnavailableError):
                stream.publish(events=[NewEvent(name="down", payload={})])
            with pytest.raises(StorageUnavailableError):
                stream.read()
        finally:
            own_cluster.start_server()
        # The pool reconnects by itself, after its retry delay.
        assert [e.name for e in eventually(stream.read)] == ["before"]
