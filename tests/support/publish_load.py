"""Concurrent writers for the multi-process tests, and the invariants their log must keep.

Run as a process: ``python -m tests.support.publish_load --postgres URL --table T`` (the
PostgreSQL adapter directly) or ``--grpc HOST:PORT`` (through a server), with ``--writers``
threads each making ``--publishes`` publishes. Each writer mixes unconditional publishes
into its own stream and into shared streams with conditional publishes racing on a shared
stream. Every successful publish is printed as one JSON line; ``check_log`` then checks
the final log against all the outcomes of all the processes.
"""

import argparse
import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from logicblocks.event.store import EventStore, UnmetWriteConditionError, position_is
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
    StorageAdapter,
    TableParameters,
)
from logicblocks.event.types import NewEvent, StoredEvent

__all__ = [
    "CATEGORY",
    "Outcome",
    "check_log",
    "finish_writer_processes",
    "parse_outcomes",
    "start_writer_processes",
    "write",
]

CATEGORY = "load"
_SHARED_STREAMS = ("shared-0", "shared-1")
_CONTESTED_STREAM = "contested"


@dataclass(frozen=True)
class Outcome:
    """One successful publish: where it went and what the store said it stored."""

    writer: str
    publish: int
    stream: str
    ids: list[str]
    positions: list[int]
    sequence_numbers: list[int]


def write(adapter: StorageAdapter, writer: str, publishes: int, seed: int) -> list[Outcome]:
    """Make ``publishes`` publishes as ``writer``; return the successful ones."""
    rng = random.Random(seed)
    store = EventStore(adapter)
    outcomes: list[Outcome] = []
    contested_last: int | None = None
    for number in range(publishes):
        kind = rng.choice(("own", "shared", "contested"))
        size = rng.randint(1, 5)
        events = [
            NewEvent(name="loaded", payload={"writer": writer, "publish": number, "index": i})
            for i in range(size)
        ]
        if kind == "own":
            name = f"own-{writer}"
        elif kind == "shared":
            name = rng.choice(_SHARED_STREAMS)
        else:
            name = _CONTESTED_STREAM
        stream = store.stream(category=CATEGORY, stream=name)
        try:
            if kind == "contested" and contested_last is not None:
                stored = stream.publish(events=events, conditions={position_is(contested_last)})
            else:
                stored = stream.publish(events=events)
        except UnmetWriteConditionError as error:
            # Lost the race: remember the winner's position for the next attempt.
            contested_last = error.last_position
            continue
        if kind == "contested":
            contested_last = stored[-1].position
        outcomes.append(
            Outcome(
                writer=writer,
                publish=number,
                stream=name,
                ids=[e.id for e in stored],
                positions=[e.position for e in stored],
                sequence_numbers=[e.sequence_number for e in stored],
            )
        )
    return outcomes


_PROJECT = Path(__file__).resolve().parents[2]


def start_writer_processes(
    connections: Sequence[Sequence[str]], *, writers: int, publishes: int, first: int = 0
) -> list["subprocess.Popen[str]"]:
    """One writer process per entry of ``connections`` (its ``--postgres URL --table T``
    or ``--grpc HOST:PORT`` arguments), each with ``writers`` threads; the processes are
    named ``p<first>``, ``p<first + 1>``, ... (their writers ``p<n>-<thread>``)."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.publish_load",
                *connection,
                "--name",
                f"p{first + index}",
                "--writers",
                str(writers),
                "--publishes",
                str(publishes),
            ],
            cwd=_PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, connection in enumerate(connections)
    ]


def finish_writer_processes(
    processes: Sequence["subprocess.Popen[str]"], timeout: float
) -> list[Outcome]:
    """Wait for writer processes; assert each succeeded; return all their outcomes."""
    outputs = [process.communicate(timeout=timeout) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    return parse_outcomes(line for stdout, _ in outputs for line in stdout.splitlines())


def parse_outcomes(lines: Iterable[str]) -> list[Outcome]:
    """Outcomes from the JSON lines a writer process printed."""
    return [Outcome(**json.loads(line)) for line in lines if line.strip()]


def check_log(log: Sequence[StoredEvent], outcomes: Sequence[Outcome]) -> None:
    """Assert every promise of docs/invariants.md that a final log and outcomes show."""
    assert [e.sequence_number for e in log] == list(range(len(log))), "sequence numbers have holes"
    by_stream: dict[str, list[StoredEvent]] = {}
    for event in log:
        by_stream.setdefault(event.stream, []).append(event)
    for name, events in by_stream.items():
        positions = [e.position for e in events]
        assert positions == list(range(len(events))), f"positions of {name} have holes"
    by_id = {e.id: e for e in log}
    assert len(by_id) == len(log), "an event id appears twice"
    expected_ids = {event_id for outcome in outcomes for event_id in outcome.ids}
    assert set(by_id) == expected_ids, "the log and the successful publishes differ"
    for outcome in outcomes:
        stored = [by_id[event_id] for event_id in outcome.ids]
        assert [e.position for e in stored] == outcome.positions
        assert [e.sequence_number for e in stored] == outcome.sequence_numbers
        assert all(e.stream == outcome.stream for e in stored)
        first = outcome.positions[0]
        assert outcome.positions == list(range(first, first + len(stored))), "batch split"
        assert [(e.payload["writer"], e.payload["publish"]) for e in stored] == [
            (outcome.writer, outcome.publish)
        ] * len(stored)


def _open(arguments: argparse.Namespace) -> StorageAdapter:
    if arguments.grpc:
        return GrpcStorageAdapter(target=arguments.grpc)
    return PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(arguments.postgres),
        table_parameters=TableParameters(events_table_name=arguments.table),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the writer threads of one process and print their outcomes as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--postgres", help="database URL: use the PostgreSQL adapter")
    target.add_argument("--grpc", help="server target HOST:PORT: use the gRPC client")
    parser.add_argument("--table", default="events")
    parser.add_argument("--name", required=True, help="this process's writer name prefix")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--publishes", type=int, default=50)
    arguments = parser.parse_args(argv)

    results: list[list[Outcome]] = [[] for _ in range(arguments.writers)]
    errors: list[BaseException] = []
    with _open(arguments) as adapter:

        def run(index: int) -> None:
            try:
                results[index] = write(
                    adapter, f"{arguments.name}-{index}", arguments.publishes, seed=index
                )
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(arguments.writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    for outcomes in results:
        for outcome in outcomes:
            sys.stdout.write(json.dumps(asdict(outcome)) + "\n")


if __name__ == "__main__":
    main()
