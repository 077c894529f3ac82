"""Torture: writers on two server replicas, subscribers on both, every one sees its exact log.

Two ``logicblocks-event-store serve`` processes share one PostgreSQL database. Eight
writers in four processes publish through both (own streams, shared streams and a
contested stream with conditions), and a ninth writes another category. Subscribers of the
log, of a category and of a stream are connected to each server: some from before the
first publish, some joining mid-way from the beginning (history, then live, under load).
At the end each must have seen exactly the final log of its target: the same ids in the
same order, nothing twice, nothing missing.
"""

import threading
from collections.abc import Callable
from contextlib import ExitStack

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
)
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from tests.support.publish_load import (
    CATEGORY,
    Outcome,
    check_log,
    finish_writer_processes,
    start_writer_processes,
)
from tests.support.server_process import COMMAND, ServerProcess
from tests.support.subscribers import Collector

WRITER_PROCESSES = 4
WRITERS_PER_PROCESS = 2
PUBLISHES = 60
NOISE_PUBLISHES = 80
HEARTBEAT_SECONDS = 1.0
# Generous: two cores shared with the database, both servers and other test runs.
TIMEOUT = 120.0

Target = identifier.Log | identifier.Category | identifier.Stream
TARGETS: list[Target] = [
    identifier.Log(),
    identifier.Category(category=CATEGORY),
    identifier.Stream(category=CATEGORY, stream="shared-0"),
    identifier.Category(category="noise"),
]


def belongs_to(target: Target) -> Callable[[StoredEvent], bool]:
    """Whether an event is part of ``target``."""
    if isinstance(target, identifier.Log):
        return lambda event: True
    if isinstance(target, identifier.Category):
        return lambda event: event.category == target.category
    return lambda event: (event.category, event.stream) == (target.category, target.stream)


def subscribe_all(adapters: list[GrpcStorageAdapter], label: str) -> list[tuple[Target, Collector]]:
    """One collector per target per server."""
    return [
        (
            target,
            Collector(
                adapter.subscribe(target=target, heartbeat_interval=HEARTBEAT_SECONDS),
                name=f"{label}-server{index}-{target}",
            ),
        )
        for index, adapter in enumerate(adapters)
        for target in TARGETS
    ]


def publish_noise(adapter: GrpcStorageAdapter, outcomes: list[Outcome]) -> None:
    """Publish into a category of its own, one event per publish; record each outcome."""
    store = EventStore(adapter)
    for number in range(NOISE_PUBLISHES):
        name = f"n-{number % 3}"
        stored = store.stream(category="noise", stream=name).publish(
            events=[NewEvent(name="noise", payload={"writer": "noise", "publish": number})]
        )
        outcomes.append(
            Outcome(
                writer="noise",
                publish=number,
                stream=name,
                ids=[e.id for e in stored],
                positions=[e.position for e in stored],
                sequence_numbers=[e.sequence_number for e in stored],
            )
        )


def test_every_subscriber_on_both_replicas_sees_the_exact_final_log(
    postgres_database: str,
) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", postgres_database]
    with ExitStack() as stack:
        servers = [stack.enter_context(ServerProcess(serve)) for _ in range(2)]
        adapters = [
            stack.enter_context(GrpcStorageAdapter(target=server.target)) for server in servers
        ]
        early = subscribe_all(adapters, "early")
        for _, collector in early:
            stack.callback(collector.close)

        writers = start_writer_processes(
            [["--grpc", servers[index % 2].target] for index in range(WRITER_PROCESSES)],
            writers=WRITERS_PER_PROCESS,
            publishes=PUBLISHES,
        )
        noise_outcomes: list[Outcome] = []
        noise = threading.Thread(target=publish_noise, args=(adapters[1], noise_outcomes))
        noise.start()

        # Late subscribers join from the beginning while the writers are busy: they read
        # history, catch up and go live while events keep committing.
        log_on_first = early[0][1]
        assert wait_until(lambda: len(log_on_first.events) >= 100, TIMEOUT)
        late = subscribe_all(adapters, "late")
        for _, collector in late:
            stack.callback(collector.close)

        outcomes = finish_writer_processes(writers, timeout=TIMEOUT)
        noise.join(timeout=TIMEOUT)
        assert not noise.is_alive()
        assert len({outcome.writer for outcome in outcomes}) == (
            WRITER_PROCESSES * WRITERS_PER_PROCESS
        )

        with PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_database)
        ) as direct:
            log = list(direct.scan())
        # Every publish invariant holds on the final log (positions, contiguous numbers,
        # atomic batches, exactly the acknowledged events).
        check_log(log, outcomes + noise_outcomes)
        head = log[-1].sequence_number

        for target, collector in early + late:
            expected = [event for event in log if belongs_to(target)(event)]
            assert expected, f"nothing was written to {target}"
            collector.wait_for_head(head, TIMEOUT, count=len(expected))
            seen = collector.events
            assert [e.id for e in seen] == [e.id for e in expected], collector.name
            assert seen == expected, collector.name
