"""Fault: PostgreSQL restarted under a publish and subscribe load through a server process.

Publishers (threads, each with its own channel) publish batches with ids they choose into
two categories; subscribers of the log and of one category follow through the same server.
The database is stopped the way a crash stops it (``pg_ctl stop -m immediate``: every
backend exits at once) while they run. Publishers must see ``UNAVAILABLE``
(``StorageUnavailableError``) and retry the same batch, same ids, until acknowledged; once
the database is back, the server (never restarted) serves again by itself, and each
subscriber ends with exactly the final log of its target: no gap, nothing twice.
"""

import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent, identifier
from tests.support.postgres import PostgresCluster
from tests.support.publish_load import check_log
from tests.support.retrying_publisher import RetryingPublisher, stop_all
from tests.support.server_process import COMMAND, ServerProcess, healthy
from tests.support.subscribers import Collector

PUBLISHERS = 3
PUBLISHES_PER_PHASE = 10
CATEGORY = "faults"
# The server's pool waits up to 10 s for a connection before UNAVAILABLE; room beyond that.
TIMEOUT = 45.0


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this module's own: stopping it disturbs no other test."""
    with PostgresCluster() as cluster:
        yield cluster


def test_a_database_restart_loses_nothing_and_subscribers_see_the_exact_log(
    own_cluster: PostgresCluster,
) -> None:
    url = own_cluster.create_database("faults")
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", url]
    with ExitStack() as stack:
        server = stack.enter_context(ServerProcess(serve))
        reader = stack.enter_context(GrpcStorageAdapter(target=server.target))
        targets: list[identifier.Log | identifier.Category] = [
            identifier.Log(),
            identifier.Category(category=CATEGORY),
        ]
        collectors = [
            stack.enter_context(
                Collector(reader.subscribe(target=target, heartbeat_interval=1.0), name=str(target))
            )
            for target in targets
        ]
        publishers = [
            RetryingPublisher(
                server.target, f"p{index}", categories=(CATEGORY, "other"), seed=index
            )
            for index in range(PUBLISHERS)
        ]
        for publisher in publishers:
            stack.callback(publisher.request_stop)
        assert wait_until(
            lambda: all(len(p.acknowledged) >= PUBLISHES_PER_PHASE for p in publishers), TIMEOUT
        )

        own_cluster.stop_server("immediate")
        try:
            # Every publisher finds the database gone and keeps retrying its batch.
            assert wait_until(lambda: all(p.unavailable > 0 for p in publishers), TIMEOUT), [
                p.error for p in publishers
            ]
            while_down = {p.name: len(p.acknowledged) for p in publishers}
        finally:
            own_cluster.start_server()

        assert wait_until(
            lambda: all(
                len(p.acknowledged) >= while_down[p.name] + PUBLISHES_PER_PHASE
                or p.error is not None
                for p in publishers
            ),
            TIMEOUT,
        )
        stop_all(publishers)
        assert all(p.retried >= 1 for p in publishers)

        # The same server process, never restarted, reads and reports healthy.
        assert server.process.poll() is None
        assert healthy(server.target)
        log = list(reader.scan())
        check_log(log, [outcome for p in publishers for outcome in p.outcomes])
        for target, collector in zip(targets, collectors, strict=True):
            expected = [
                e for e in log if isinstance(target, identifier.Log) or e.category == CATEGORY
            ]
            collector.wait_for_head(log[-1].sequence_number, TIMEOUT, count=len(expected))
            assert collector.events == expected, f"{collector.name} saw another log"


def test_the_client_retries_a_publish_through_unavailable_until_the_database_is_back(
    own_cluster: PostgresCluster,
) -> None:
    # The client's own retry, not the test's: one publish call, begun while the database
    # is down, must come back with its events once it is up, written once.
    url = own_cluster.create_database("retries")
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", url]
    with (
        ServerProcess(serve) as server,
        GrpcStorageAdapter(target=server.target, attempts=8, timeout=TIMEOUT) as client,
    ):
        store = EventStore(client)
        stream = store.stream(category=CATEGORY, stream="retried")
        outcome: list[object] = []
        own_cluster.stop_server("immediate")
        try:
            publishing = threading.Thread(
                target=lambda: outcome.append(
                    stream.publish(events=[NewEvent(name="placed", payload={"n": 1})])
                ),
                daemon=True,
            )
            publishing.start()
            # The server answered at least one attempt with UNAVAILABLE.
            server.wait_for_line(re.compile(r"event=publish_rejected .*code=UNAVAILABLE"), TIMEOUT)
        finally:
            own_cluster.start_server()
        publishing.join(timeout=120)
        assert not publishing.is_alive(), "the publish never came back"
        (published,) = outcome
        assert [e.name for e in published] == ["placed"]  # type: ignore[attr-defined]
        assert stream.read() == list(published)  # type: ignore[call-overload]
