"""``python -m bench``: every workload against our server and its baselines, one table.

Sizes default to the issue's figures; ``--quick`` shrinks them for a run of a couple of
minutes, and ``BENCH_SCAN_EVENTS`` / ``BENCH_W5_EVENTS`` (or the flags) set the scan sizes.
"""

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import echo, latency, memory, ours, raw
from .consistency import ConsistencyWorkload
from .cpu import Meter, Stopwatch, Usage
from .environment import (
    BENCH_SETTINGS,
    FAST_SETTINGS,
    PostgresCluster,
    ServerProcess,
    free_port,
    postmaster_pid,
)
from .eventsourcing_peer import EventsourcingRecorder
from .eventsourcing_peer import available as eventsourcing_available
from .groups import GroupsWorkload
from .logicblocks_peer import LogicblocksPeer
from .profiling import profiled, summarize
from .report import Figure, Report
from .resource_workloads import ResourceWorkloads
from .subjects import (
    BEST_PEER,
    ECHO,
    ES,
    LB,
    LOCAL_DELIVERED,
    LOCAL_P50,
    LOCAL_P99,
    LOCAL_RATE,
    OURS,
    OURS_DELIVERED,
    OURS_P50,
    OURS_P99,
    OURS_RATE,
    RAW_W1,
    RAW_W2_ONE,
    RAW_W2_THREADS,
    RAW_W3,
    TARGETS,
    TITLES,
)

_HERE = Path(__file__).resolve().parent

# A subject's work for one repetition: given the run's number and the stopwatch to start and
# stop around exactly what it times, it returns the events/s.
Work = Callable[[int, Stopwatch], float]


@dataclass
class Measured:
    """One subject's repetitions: events/s and CPU per operation of each."""

    samples: list[float]
    cpu: list[Usage]


@dataclass
class Sizes:
    """How much work each workload does per repetition."""

    repeats: int = 3
    w1_publishes: int = 200
    batch: int = 100
    clients: int = 32
    w2_publishes: int = 100
    scan_events: int = 200_000
    subscribers: int = 50
    subscriber_processes: int = 2
    events_per_second: float = 500.0
    w4_seconds: float = 10.0
    w5_events: int = 1_000_000
    idle_subscriptions: int = 1000
    w6_events: int = 520
    w6_readers: int = 3
    w6_hold_seconds: float = 5.0
    w7_events: int = 1_000_000
    w7_streams: int = 100_000
    w8_events: int = 1_000_000
    w8_publishes: int = 200
    w9_events: int = 50_000
    w9_streams: int = 200


def _sizes(arguments: argparse.Namespace) -> Sizes:
    sizes = Sizes()
    if arguments.quick:
        sizes.w1_publishes = 50
        sizes.w2_publishes = 25
        sizes.scan_events = 50_000
        sizes.w4_seconds = 4.0
        sizes.w5_events = 200_000
        sizes.w7_events = 200_000
        sizes.w7_streams = 20_000
        sizes.w8_events = 200_000
        sizes.w8_publishes = 100
        sizes.w9_events = 20_000
    if arguments.repeats:
        sizes.repeats = arguments.repeats
    if arguments.w9_streams:
        sizes.w9_streams = arguments.w9_streams
    scan = arguments.scan_events or os.environ.get("BENCH_SCAN_EVENTS")
    if scan:
        sizes.scan_events = int(scan)
    w5 = arguments.w5_events or os.environ.get("BENCH_W5_EVENTS")
    if w5:
        sizes.w5_events = int(w5)
    if arguments.w8_events:
        sizes.w8_events = arguments.w8_events
    return sizes


class Run(ResourceWorkloads, ConsistencyWorkload, GroupsWorkload):
    """One benchmark run: the cluster, our server, the baselines and the report."""

    def __init__(self, arguments: argparse.Namespace, cluster: PostgresCluster, url: str):
        self.arguments = arguments
        self.sizes = _sizes(arguments)
        self.cluster = cluster
        self.url = url
        self.logs = _HERE / "logs"
        self.logs.mkdir(exist_ok=True)
        self.report = Report(TITLES, TARGETS)
        self.profiles: list[str] = []
        self.postmaster = postmaster_pid(cluster)

    def meter(self, server: int | None = None, postgres: bool = True) -> Meter:
        """What a subject's CPU figures cover: this process as the client, the ``server``
        process tree if it has one, and the cluster's processes unless ``postgres`` is
        false."""
        return Meter(
            server=server, client=os.getpid(), postgres=self.postmaster if postgres else None
        )

    def figure(
        self,
        workload: str,
        subject: str,
        samples: Sequence[float],
        unit: str = "events/s",
        cpu: Sequence[Usage] = (),
    ) -> Figure:
        return self.report.add(Figure(workload, subject, unit, list(samples), cpu=list(cpu)))

    def skipped(self, workload: str, subject: str, note: str, unit: str = "events/s") -> None:
        self.report.add(Figure(workload, subject, unit, note=note))

    def repeat(self, subjects: dict[str, Work], meters: dict[str, Meter]) -> dict[str, Measured]:
        """Each subject once per repetition, interleaved, so drifting machine load touches
        all of them alike; each metered by its entry in ``meters`` (by default the client
        and PostgreSQL)."""
        measured = {name: Measured([], []) for name in subjects}
        for run in range(self.sizes.repeats):
            for name, work in subjects.items():
                watch = Stopwatch(meters.get(name) or self.meter())
                measured[name].samples.append(work(run, watch))
                measured[name].cpu.append(watch.usage)
        return measured

    def figures(self, workload: str, results: dict[str, Measured]) -> None:
        """Add each subject's figure with its CPU per operation."""
        for name, result in results.items():
            self.figure(workload, name, result.samples, cpu=result.cpu)

    def profile_path(self, name: str) -> Path:
        return _HERE / "profiles" / f"{name}.txt"

    # Workloads ----------------------------------------------------------------------------

    def w1(self, server: ServerProcess, raw_table: raw.RawTable, peer: LogicblocksPeer) -> None:
        print("W1: publish, batches of 100, one client", flush=True)
        s = self.sizes
        subjects: dict[str, Work] = {
            OURS: lambda run, watch: ours.publish_batches(
                server.target, s.w1_publishes, s.batch, str(run), watch
            ),
            RAW_W1: lambda run, watch: raw_table.publish_batches(
                s.w1_publishes, s.batch, str(run), watch
            ),
        }
        skipped_es = eventsourcing_available()
        recorder = None if skipped_es else EventsourcingRecorder(self.url, pool_size=2)
        if recorder is not None:
            subjects[ES] = lambda run, watch: recorder.publish_batches(
                s.w1_publishes, s.batch, watch
            )
        results = self.repeat(subjects, {OURS: self.meter(server=server.pid)})
        self.profile(server, "w1", lambda: subjects[OURS](99, Stopwatch()))
        if recorder is not None:
            recorder.close()
        self.figures("W1", results)
        if skipped_es:
            self.skipped("W1", ES, skipped_es)
        self._peer("W1", peer, "w1", publishes=s.w1_publishes, batch=s.batch, clients=1)

    def w2(self, server: ServerProcess, raw_table: raw.RawTable, peer: LogicblocksPeer) -> None:
        print("W2: publish, one event per publish, 32 concurrent clients", flush=True)
        s = self.sizes
        echo_target = f"127.0.0.1:{free_port()}"
        with echo.echo_server(echo_target) as echo_pid:
            subjects: dict[str, Work] = {
                OURS: lambda run, watch: ours.publish_concurrently(
                    server.target, s.clients, s.w2_publishes, str(run), watch
                ),
                ECHO: lambda run, watch: echo.publish_concurrently(
                    echo_target, s.clients, s.w2_publishes, watch
                ),
                RAW_W2_ONE: lambda run, watch: raw_table.publish_one_connection(
                    s.clients, s.w2_publishes, str(run), watch
                ),
                RAW_W2_THREADS: lambda run, watch: raw_table.publish_concurrently(
                    s.clients, s.w2_publishes, str(run), watch
                ),
            }
            skipped_es = eventsourcing_available()
            recorder = None if skipped_es else EventsourcingRecorder(self.url, s.clients)
            if recorder is not None:
                subjects[ES] = lambda run, watch: recorder.publish_concurrently(
                    s.clients, s.w2_publishes, watch
                )
            meters = {
                OURS: self.meter(server=server.pid),
                ECHO: self.meter(server=echo_pid, postgres=False),
            }
            results = self.repeat(subjects, meters)
            self.profile(server, "w2", lambda: subjects[OURS](99, Stopwatch()))
            if recorder is not None:
                recorder.close()
        self.figures("W2", results)
        if skipped_es:
            self.skipped("W2", ES, skipped_es)
        self._peer("W2", peer, "w2", publishes=s.w2_publishes, clients=s.clients)
        peers = [
            f
            for f in (self.report.find("W2", ES), self.report.find("W2", LB))
            if f is not None and f.value is not None
        ]
        if peers:
            best = max(peers, key=lambda f: f.value or 0.0)
            self.figure("W2", BEST_PEER, best.samples, cpu=best.cpu).note = best.subject

    def w3(self, server: ServerProcess, peer: LogicblocksPeer) -> None:
        s = self.sizes
        total = memory.fill_log(self.url, s.scan_events)
        print(f"W3: scan the whole log ({total:,} events)", flush=True)
        subjects: dict[str, Work] = {
            OURS: lambda run, watch: ours.scan_log(server.target, watch)[1],
            RAW_W3: lambda run, watch: raw.scan_log(self.url, watch=watch)[1],
        }
        skipped_es = eventsourcing_available()
        recorder = None if skipped_es else EventsourcingRecorder(self.url, pool_size=2)
        if recorder is not None:
            recorder.load_from_events(self.url)
            subjects[ES] = lambda run, watch: recorder.scan(watch=watch)[1]
        results = self.repeat(subjects, {OURS: self.meter(server=server.pid)})
        self.profile(server, "w3", lambda: subjects[OURS](99, Stopwatch()))
        if recorder is not None:
            recorder.close()
        self.figures("W3", results)
        if skipped_es:
            self.skipped("W3", ES, skipped_es)
        if peer.unavailable is None:
            peer.load_from_events()
        self._peer("W3", peer, "w3", clients=1)

    def w4(self, server: ServerProcess) -> None:
        s = self.sizes
        print(
            f"W4: latency, {s.subscribers} subscribers, {s.events_per_second:.0f} events/s "
            f"for {s.w4_seconds:.0f} s",
            flush=True,
        )
        cases = [
            (OURS_P50, OURS_P99, OURS_RATE, OURS_DELIVERED, ["--grpc", server.target]),
            (LOCAL_P50, LOCAL_P99, LOCAL_RATE, LOCAL_DELIVERED, ["--postgres", self.url]),
        ]
        for p50_name, p99_name, rate_name, delivered_name, subscribe_with in cases:
            result = latency.measure_latency(
                server.target,
                subscribe_with,
                s.subscribers,
                s.subscriber_processes,
                s.events_per_second,
                s.w4_seconds,
                self.meter(server=server.pid),
            )
            if result.unavailable is not None:
                note = f"not available yet ({result.unavailable[:120]})"
                self.skipped("W4", p50_name, note, unit="ms")
                self.skipped("W4", p99_name, note, unit="ms")
                continue
            print(
                f"    {result.deliveries:,} of {result.expected:,} deliveries, published "
                f"{result.published_per_second:,.0f} events/s",
                flush=True,
            )
            for name, value in (
                (p50_name, result.p50_ms),
                (p99_name, result.p99_ms),
                (f"{p50_name}: the same publish acknowledged", result.ack_p50_ms),
                (f"{p99_name}: the same publish acknowledged", result.ack_p99_ms),
            ):
                self.report.add(Figure("W4", name, "ms", [value], higher_is_better=False))
            # The offered rate is a schedule; say when the publishers could not keep it.
            self.figure("W4", rate_name, [result.published_per_second], cpu=[result.cpu_published])
            self.figure(
                "W4",
                delivered_name,
                [result.delivered_per_second],
                unit="deliveries/s",
                cpu=[result.cpu_delivered],
            )

    # Helpers ------------------------------------------------------------------------------

    def _peer(self, workload: str, peer: LogicblocksPeer, name: str, **sizes: int) -> None:
        if peer.unavailable is not None:
            self.skipped(workload, LB, peer.unavailable)
            return
        try:
            result = peer.run(name, self.sizes.repeats, **sizes)
        except RuntimeError as error:
            self.skipped(workload, LB, f"failed: {str(error)[-200:]}")
            return
        self.figure(workload, LB, result.samples, cpu=result.cpu)

    def profile(self, server: ServerProcess, name: str, work: Callable[[], float]) -> None:
        """With ``--profile``: run ``work`` (ours) once more while py-spy samples the server
        and this client process; summaries are printed after the table."""
        if not self.arguments.profile:
            return
        server_path = self.profile_path(f"{name}-server")
        client_path = self.profile_path(f"{name}-client")
        with (
            profiled(server.pid, server_path) as on_server,
            profiled(os.getpid(), client_path) as on_client,
        ):
            if not (on_server and on_client):
                print("    (py-spy is not installed: no profile)", flush=True)
                return
            work()
        self.profiles += [summarize(server_path), summarize(client_path)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: about 2 minutes")
    parser.add_argument("--repeats", type=int, help="repetitions per subject (default 3)")
    parser.add_argument(
        "--scan-events", type=int, help="W3 log size (env BENCH_SCAN_EVENTS; default 200000)"
    )
    parser.add_argument(
        "--w5-events", type=int, help="W5 slow-scan size (env BENCH_W5_EVENTS; default 1000000)"
    )
    parser.add_argument("--w8-events", type=int, help="W8 store size (default 1000000)")
    parser.add_argument(
        "--w9-streams", type=int, help="W9: streams the events are spread over (default 200)"
    )
    parser.add_argument(
        "--only",
        default="W1,W2,W3,W4,W5,W6,W7,W8,W9",
        help="comma-separated workloads (default all)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after W1-W3 and W9, run ours once more under py-spy (server and client)",
    )
    parser.add_argument(
        "--no-fsync", action="store_true", help="run PostgreSQL with fsync off (default: on)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    arguments = _parser().parse_args(argv)
    only = {name.strip().upper() for name in arguments.only.split(",")}
    started = time.perf_counter()
    settings = FAST_SETTINGS if arguments.no_fsync else BENCH_SETTINGS
    with PostgresCluster(settings=settings) as cluster:
        url = cluster.create_database("bench")
        run = Run(arguments, cluster, url)
        print(f"sizes: {run.sizes}", flush=True)
        with ServerProcess.running(url, run.logs / "server.log") as server:
            raw_table = raw.RawTable(url)
            peer = LogicblocksPeer(url, run.postmaster)
            if "W1" in only:
                run.w1(server, raw_table, peer)
            if "W2" in only:
                run.w2(server, raw_table, peer)
            if "W3" in only:
                run.w3(server, peer)
            if "W4" in only:
                run.w4(server)
        if "W5" in only:
            run.w5()
        if "W6" in only:
            run.w6()
        if "W7" in only:
            run.w7()
        if "W8" in only:
            run.w8()
        if "W9" in only:
            run.w9()
    print()
    print(run.report.table())
    if peer.version:
        print(f"\nlogicblocks-event-store release: {peer.version}")
    for summary in run.profiles:
        print()
        print(summary)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
