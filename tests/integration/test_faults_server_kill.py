"""Fault: ``kill -9`` of the server during a publish load, then a restart on the same storage.

Several publishers (threads, each with its own channel) publish batches with ids they
choose into their own streams and shared ones. The server process is killed with SIGKILL
mid-load: publishes in flight get ``UNAVAILABLE`` and their outcome is unknown, so each
publisher retries the same batch, same ids, until a new server on the same port and
storage acknowledges it. Afterwards every acknowledged event is in the log exactly once,
every batch is whole and contiguous, positions and sequence numbers have no holes, and
publishing an acknowledged batch again returns the stored events and writes nothing.
"""

import signal
from contextlib import ExitStack
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.testing.waiting import wait_until
from tests.support.publish_load import check_log
from tests.support.retrying_publisher import RetryingPublisher, stop_all
from tests.support.server_process import COMMAND, ServerProcess
from tests.support.stored_log import final_log

PUBLISHERS = 4
# Acknowledged publishes each publisher makes before the kill and again after the restart.
PUBLISHES_PER_PHASE = 15
TIMEOUT = 45.0


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server's storage: a SQLite file in ``tmp_path`` or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    url: str = request.getfixturevalue("postgres_database")
    return url


def test_a_killed_server_loses_no_acknowledged_publish_and_writes_none_twice(
    storage_url: str, tmp_path: Path
) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", storage_url]
    with ExitStack() as stack:
        first = stack.enter_context(ServerProcess(serve))
        publishers = [
            RetryingPublisher(first.target, f"p{index}", seed=index) for index in range(PUBLISHERS)
        ]
        # On failure, let the daemon threads wind down rather than hang the test.
        for publisher in publishers:
            stack.callback(publisher.request_stop)
        assert wait_until(
            lambda: all(len(p.acknowledged) >= PUBLISHES_PER_PHASE for p in publishers), TIMEOUT
        )

        first.signal(signal.SIGKILL)
        assert first.wait(timeout=TIMEOUT) == -signal.SIGKILL
        # Each publisher's next attempt fails: its publish in progress is now in doubt,
        # and it retries that batch until the restart. (Counted only now: a response the
        # server sent just before dying may still have been read after the kill.)
        assert wait_until(lambda: all(p.unavailable > 0 for p in publishers), TIMEOUT), [
            p.error for p in publishers
        ]
        before_kill = {p.name: len(p.acknowledged) for p in publishers}

        restart = [arg if arg != "127.0.0.1:0" else first.target for arg in serve]
        second = stack.enter_context(ServerProcess(restart))
        assert wait_until(
            lambda: all(
                len(p.acknowledged) >= before_kill[p.name] + PUBLISHES_PER_PHASE
                or p.error is not None
                for p in publishers
            ),
            TIMEOUT,
        )
        stop_all(publishers)
        # The publish in doubt at the kill was retried until acknowledged, with its ids.
        assert all(p.retried >= 1 for p in publishers)

        with GrpcStorageAdapter(target=second.target) as checker:
            log_before = list(checker.scan())
            store = EventStore(checker)
            for publisher in publishers:
                # Up to and including the batch in flight at the kill.
                for batch, stored in publisher.acknowledged[: before_kill[publisher.name] + 1]:
                    again = store.stream(category=batch.category, stream=batch.stream).publish(
                        events=batch.events
                    )
                    assert list(again) == stored, f"{publisher.name} retry wrote anew"
            assert list(checker.scan()) == log_before

    log = final_log(storage_url, tmp_path)
    assert log == log_before
    check_log(log, [outcome for p in publishers for outcome in p.outcomes])
