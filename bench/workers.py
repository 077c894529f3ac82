"""``python -m bench.workers``: W2-like publishes through ``serve --workers 1`` and ``2``.

W2's 32 threads, each publishing one event at a time into its own stream, here from 4
client processes of 8 threads. They are split because a process's adapters share one
connection, and the kernel hands each connection to one worker: W2's single process would
keep one worker busy whatever ``--workers`` says. For each worker count: a fresh database
on one PostgreSQL cluster, the server, the clients started and connected, then released
together. Printed: publishes per second (all publishes over the time from the release to
the last client's end), and CPU per publish of the server (supervisor and workers), the
clients and PostgreSQL, read from the kernel's CPU clocks (``bench.cpu``), and the mean
group: events per write transaction, counted afterwards as the distinct ``xmin`` (the
writing transaction's id) of the rows.

And, for the arithmetic of where the database becomes the limit: the time of one write
transaction, which holds the table's write lock from its start to its commit, from the
in-process adapter with one thread (so with nothing to group): one-event publishes, and
publishes of 100 events, whose difference gives the cost of each further event.

``python -m bench.workers client TARGET THREADS PUBLISHES RUN`` is one client process.
"""

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
)

from .cpu import process_seconds, tree_seconds
from .environment import BENCH_SETTINGS, FAST_SETTINGS, PostgresCluster, postmaster_pid
from .events import CATEGORY, new_events
from .timing import run_threads

_PROJECT = Path(__file__).resolve().parents[1]
_SERVE = str(Path(sys.executable).with_name("logicblocks-event-store"))


def client(target: str, threads: int, publishes: int, run: str) -> None:
    """One client process: connect, say ``ready``, wait for a line, publish, say ``done``."""
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        streams = [store.stream(category=CATEGORY, stream=f"{run}-{i}") for i in range(threads)]
        streams[0].publish(events=new_events(1))  # connect before the clock starts
        events = new_events(publishes)
        print("ready", flush=True)
        sys.stdin.readline()

        def work(index: int) -> None:
            for event in events:
                streams[index].publish(events=[event])

        run_threads(threads, work)
        print("done", flush=True)


def measure(
    cluster: PostgresCluster, workers: int, processes: int, threads: int, publishes: int
) -> dict[str, float]:
    """One measured run with ``workers`` server processes; rate and CPU µs per publish."""
    database = cluster.create_database("workers")
    server = subprocess.Popen(
        [
            _SERVE,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--storage",
            database,
            "--workers",
            str(workers),
            "--log-level",
            "INFO",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    for line in server.stderr:
        if "event=listening " in line:
            port = line.split(" port=")[1].split()[0]
            break
    else:
        raise RuntimeError("the server did not start")
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.workers",
                "client",
                f"127.0.0.1:{port}",
                str(threads),
                str(publishes),
                f"w{workers}-p{index}",
            ],
            cwd=_PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(processes)
    ]
    try:
        for process in clients:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        postmaster = postmaster_pid(cluster)
        before = (tree_seconds(server.pid), tree_seconds(postmaster))
        before_clients = sum(process_seconds(process.pid) for process in clients)
        started = time.perf_counter()
        for process in clients:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in clients:
            assert process.stdout is not None and process.stdout.readline() == "done\n"
        elapsed = time.perf_counter() - started
        after_clients = sum(process_seconds(process.pid) for process in clients)
        after = (tree_seconds(server.pid), tree_seconds(postmaster))
    finally:
        for process in clients:
            process.communicate(timeout=60)
        server.terminate()
        server.communicate(timeout=60)
    total = processes * threads * publishes
    # Every event a group commit writes shares that transaction's id (the clients' first
    # publishes, one each before the clock, count too: a handful among thousands).
    rows = cluster.execute(
        "SELECT count(*), count(DISTINCT xmin::text) FROM events",
        dbname=database.rsplit("/", 1)[1],
    )
    events, transactions = (int(str(value)) for value in rows[0])
    return {
        "rate": total / elapsed,
        "group": events / transactions,
        "server_us": (after[0] - before[0]) * 1e6 / total,
        "client_us": (after_clients - before_clients) * 1e6 / total,
        "postgres_us": (after[1] - before[1]) * 1e6 / total,
    }


def transaction_times(cluster: PostgresCluster, transactions: int = 300) -> tuple[float, float]:
    """Microseconds of one write transaction of one event, and of each further event."""
    database = cluster.create_database("serial")
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(database)
    ) as adapter:
        stream = EventStore(adapter).stream(category=CATEGORY, stream="serial")
        stream.publish(events=new_events(1))
        times = []
        for size in (1, 100):
            batches = [
                new_events(size) for _ in range(transactions // 10 if size > 1 else transactions)
            ]
            started = time.perf_counter()
            for batch in batches:
                stream.publish(events=batch)
            times.append((time.perf_counter() - started) * 1e6 / len(batches))
    one, hundred = times
    return one, (hundred - one) / 99


def main(argv: Sequence[str] | None = None) -> None:
    """Measure each worker count once, print one line each."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["client"]:
        client(arguments[1], int(arguments[2]), int(arguments[3]), arguments[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="per client process")
    parser.add_argument("--publishes", type=int, default=100, help="per thread")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    options = parser.parse_args(arguments)
    settings = FAST_SETTINGS if options.no_fsync else BENCH_SETTINGS
    with PostgresCluster(settings=settings) as cluster:
        one, further = transaction_times(cluster)
        print(
            f"one write transaction (in process, one thread): {one:.0f} µs for one event, "
            f"+{further:.1f} µs per further event",
            flush=True,
        )
        for workers in (int(count) for count in options.workers.split(",")):
            figures = measure(
                cluster, workers, options.processes, options.threads, options.publishes
            )
            print(
                f"--workers {workers}: {figures['rate']:,.0f} publishes/s; CPU per publish: "
                f"server {figures['server_us']:.0f} µs, clients {figures['client_us']:.0f} µs, "
                f"PostgreSQL {figures['postgres_us']:.0f} µs; "
                f"{figures['group']:.1f} events per write transaction",
                flush=True,
            )


if __name__ == "__main__":
    main()
