"""W9 (issue 14): a consumer group of 4 consumers against one plain subscription.

The store, on PostgreSQL (a database of its own), holds ``events`` events in ``streams``
streams of one category (200 unless ``--w9-streams`` says otherwise), published through
our server and the gRPC client before anything is timed: publishes of one event into each
of the streams (``store.publish(writes=...)``), so the streams interleave in the log as
the events of many entities do.

Each repetition then times, through the same server and ``GrpcStorageAdapter``, with every
consumer in a process of its own (spawned, connected before the clock):

- **plain**: one subscription to the log from its beginning (``store.log().subscribe()``),
  from the moment it is told to start to its ``events``-th event;
- **group**: a group over the log, created from the end, that 4 consumer processes join
  and wait in; then the clock starts and the group is reset to the beginning, which hands
  them the events. Each consumer acknowledges every delivery; the clock stops at the
  ``events``-th acknowledgement. After the clock the group's lag must come to 0: the
  server holds every acknowledgement.

Both report events/s and the CPU per event of the server, of the consumer processes
together, and of PostgreSQL.
"""

import argparse
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import TYPE_CHECKING

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.exceptions import ServerError
from logicblocks.event.store.groups import FROM_BEGINNING, FROM_END, GroupSettings
from logicblocks.event.types import NewEvent

from .cpu import Meter, Stopwatch, Usage, process_seconds
from .environment import PostgresCluster, ServerProcess
from .events import new_events
from .group_consumers import Shared, consume_group, subscribe_log
from .profiling import profiled, summarize
from .report import Figure, Report
from .subjects import W9_GROUP, W9_PLAIN

if TYPE_CHECKING:
    from .__main__ import Sizes

__all__ = ["CATEGORY", "CONSUMERS", "GroupsWorkload", "Repetition", "publish"]

CATEGORY = "w9"
CONSUMERS = 4
# Events per publish while filling the store.
_PER_PUBLISH = 200
# The group's settings: the defaults, but for a member tick of 0.5 s (a third of the
# member timeout). The consumers hear of the reset that starts the clock at once (it is
# made through their server), but the 4 of them share out the partitions at their ticks
# after joining: at the default tick (3.3 s) they could still be doing so at the reset.
SETTINGS = GroupSettings(member_timeout=1.5)
_READY_TIMEOUT = 60.0
# A repetition fails when its total stops growing for this long.
_STALL_TIMEOUT = 60.0
_LAG_TIMEOUT = 30.0
_JOIN_TIMEOUT = 30.0
# How often the parent adds up the consumers' counts itself (see group_consumers).
_POLL = 0.001
# How often it looks for a consumer's error or a stall meanwhile.
_CHECK_EVERY = 0.5


@dataclass(frozen=True)
class ConsumerMeter(Meter):
    """A ``Meter`` whose client side is several processes (the consumers), added up."""

    clients: tuple[int, ...] = ()

    def _client(self) -> float | None:
        return sum(process_seconds(pid) for pid in self.clients) if self.clients else None


@dataclass
class Repetition:
    """One repetition of one subject: events/s, CPU per event, and what the consumers saw."""

    rate: float
    usage: Usage
    # Seconds from the start of the clock to the first event of the earliest consumer and
    # of the latest one.
    first_seconds: float
    last_first_seconds: float
    redelivered: int
    per_consumer: list[int] = field(default_factory=list)


def publish(target: str, events: int, streams: int) -> float:
    """Publish ``events`` events in turn over ``streams`` streams, 200 events a publish
    (one write per stream, its events in turn); the seconds it took."""
    started = time.perf_counter()
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        handles = [store.stream(category=CATEGORY, stream=f"s-{i:03d}") for i in range(streams)]
        for first in range(0, events, _PER_PUBLISH):
            batch = new_events(min(_PER_PUBLISH, events - first), start=first)
            by_stream: dict[int, list[NewEvent]] = {}
            for i, event in enumerate(batch):
                by_stream.setdefault((first + i) % streams, []).append(event)
            store.publish(
                writes=[handles[index].write(events=group) for index, group in by_stream.items()]
            )
    return time.perf_counter() - started


def unavailable(target: str) -> str | None:
    """Why the server cannot serve groups (``None`` when it can): a group created, joined
    and deleted."""
    try:
        with GrpcStorageAdapter(target=target) as adapter:
            store = EventStore(adapter)
            group = store.log().consumer_group("w9-probe")
            group.create(start=FROM_END, settings=SETTINGS)
            with group.consume():
                pass
            group.delete()
    except (NotImplementedError, ServerError) as error:
        return f"{type(error).__name__}: {error}"
    return None


class _Consumers:
    """The consumer processes of one repetition and the state they share."""

    def __init__(self, processes: int, expected: int) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.shared = Shared.make(self.context, processes, expected)
        self.processes: list[SpawnProcess] = []

    def start(self, target: str, group: str | None) -> None:
        for index in range(self.shared.processes):
            process = self.context.Process(
                target=subscribe_log if group is None else consume_group,
                args=(target, index, self.shared)
                if group is None
                else (target, group, index, self.shared),
                daemon=True,
            )
            process.start()
            self.processes.append(process)
        deadline = time.monotonic() + _READY_TIMEOUT
        for ready in self.shared.ready:
            while not ready.wait(0.1):
                self._raise_errors()
                if time.monotonic() > deadline:
                    raise RuntimeError("the consumers did not become ready in time")
        self._raise_errors()

    def _raise_errors(self) -> None:
        """Raise what a consumer process reported, or that one ended without a word."""
        if not self.shared.errors.empty():
            raise RuntimeError(self.shared.errors.get())
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise RuntimeError(f"a consumer process exited with {process.exitcode}")

    def wait_done(self) -> None:
        """Until the consumers counted ``expected`` events; raises when one failed or the
        count stalled."""
        shared = self.shared
        seen = 0
        progressed = checked = time.monotonic()
        while (total := shared.total) < shared.expected:
            time.sleep(_POLL)
            if time.monotonic() - checked < _CHECK_EVERY:
                continue
            checked = time.monotonic()
            self._raise_errors()
            if total != seen:
                seen, progressed = total, time.monotonic()
            elif time.monotonic() - progressed > _STALL_TIMEOUT:
                raise RuntimeError(f"stalled at {total:,} of {shared.expected:,} events")

    def repetition(self, watch: Stopwatch, started: float) -> Repetition:
        """The figures once ``wait_done`` returned and ``watch`` stopped; ``started`` is
        ``time.monotonic()`` when the clock started."""
        shared = self.shared
        firsts = sorted(t for t in shared.firsts[:] if t > 0)
        return Repetition(
            rate=watch.rate(shared.expected),
            usage=watch.usage,
            first_seconds=firsts[0] - started if firsts else 0.0,
            last_first_seconds=firsts[-1] - started if firsts else 0.0,
            redelivered=sum(shared.redelivered[:]),
            per_consumer=list(shared.counted[:]),
        )

    def stop(self) -> None:
        self.shared.stop.set()
        self.shared.go.set()
        for process in self.processes:
            process.join(_JOIN_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()


def run_plain(target: str, events: int, server: int, postgres: int) -> Repetition:
    """One repetition of the plain subscription."""
    consumers = _Consumers(1, events)
    try:
        consumers.start(target, None)
        watch = Stopwatch(_meter(consumers, server, postgres))
        watch.start()
        started = time.monotonic()
        consumers.shared.go.set()
        consumers.wait_done()
        watch.stop()
        return consumers.repetition(watch, started)
    finally:
        consumers.stop()


def run_group(target: str, events: int, name: str, server: int, postgres: int) -> Repetition:
    """One repetition of the group of ``CONSUMERS``, as group ``name`` (made here, and
    deleted at the end)."""
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        group = store.log().consumer_group(name)
        group.create(start=FROM_END, settings=SETTINGS)
        consumers = _Consumers(CONSUMERS, events)
        try:
            consumers.start(target, name)
            _wait_members(store, name)
            watch = Stopwatch(_meter(consumers, server, postgres))
            watch.start()
            started = time.monotonic()
            group.reset(start=FROM_BEGINNING)
            consumers.wait_done()
            watch.stop()
            repetition = consumers.repetition(watch, started)
            _wait_no_lag(store, name)
        finally:
            consumers.stop()
        group.delete()
        return repetition


def _meter(consumers: _Consumers, server: int, postgres: int) -> ConsumerMeter:
    return ConsumerMeter(
        server=server,
        postgres=postgres,
        clients=tuple(p.pid for p in consumers.processes if p.pid is not None),
    )


def _wait_members(store: EventStore, name: str) -> None:
    # Every consumer counted live, and one more tick for the first to hand partitions on.
    deadline = time.monotonic() + _READY_TIMEOUT
    while len(store.consumer_group(name).info().members) < CONSUMERS:
        if time.monotonic() > deadline:
            raise RuntimeError("the consumers did not all join the group in time")
        time.sleep(0.05)
    time.sleep(2 * SETTINGS.member_timeout / 3)


def _wait_no_lag(store: EventStore, name: str) -> None:
    deadline = time.monotonic() + _LAG_TIMEOUT
    while (lag := store.consumer_group(name).info().lag) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"every event was acknowledged, but the group's lag is {lag:,}")
        time.sleep(0.1)


class GroupsWorkload:
    """W9 of a ``Run``, which provides the attributes and methods below."""

    arguments: argparse.Namespace
    sizes: "Sizes"
    logs: Path
    cluster: PostgresCluster
    report: Report
    postmaster: int
    profiles: list[str]

    def profile_path(self, name: str) -> Path:
        raise NotImplementedError

    def skipped(self, workload: str, subject: str, note: str, unit: str = "events/s") -> None:
        raise NotImplementedError

    def w9(self) -> None:
        s = self.sizes
        # A database of its own: the log holds W9's events alone.
        url = self.cluster.create_database("bench_groups")
        with ServerProcess.running(url, self.logs / "server-w9.log") as server:
            seconds = publish(server.target, s.w9_events, s.w9_streams)
            print(
                f"W9: a group of {CONSUMERS} against one subscription, {s.w9_events:,} events "
                f"in {s.w9_streams} streams (published in {seconds:.0f} s)",
                flush=True,
            )
            why = unavailable(server.target)
            if why is not None:
                for subject in (W9_PLAIN, W9_GROUP):
                    self.skipped("W9", subject, f"not available yet ({why[:120]})")
                return
            try:
                results = self._w9_repeat(server, s.w9_events)
            except RuntimeError as error:
                for subject in (W9_PLAIN, W9_GROUP):
                    self.skipped("W9", subject, f"failed: {str(error)[-200:]}")
                return
            if self.arguments.profile:
                self._w9_profile(server, s.w9_events)
        for subject, runs in results.items():
            rates = [r.rate for r in runs]
            self.report.add(Figure("W9", subject, "events/s", rates, cpu=[r.usage for r in runs]))
            _describe(subject, runs)

    def _w9_repeat(self, server: ServerProcess, events: int) -> dict[str, list[Repetition]]:
        results: dict[str, list[Repetition]] = {W9_PLAIN: [], W9_GROUP: []}
        for run in range(self.sizes.repeats):
            # Interleaved, so drifting machine load touches both alike.
            results[W9_PLAIN].append(run_plain(server.target, events, server.pid, self.postmaster))
            results[W9_GROUP].append(
                run_group(server.target, events, f"w9-{run}", server.pid, self.postmaster)
            )
        return results

    def _w9_profile(self, server: ServerProcess, events: int) -> None:
        """py-spy on the server during one more repetition of the group."""
        path = self.profile_path("w9-server")
        with profiled(server.pid, path) as recording:
            if not recording:
                print("    (py-spy is not installed: no profile)", flush=True)
                return
            run_group(server.target, events, "w9-profiled", server.pid, self.postmaster)
        self.profiles.append(summarize(path))


def _describe(subject: str, runs: list[Repetition]) -> None:
    first = statistics.median(r.first_seconds for r in runs)
    last = statistics.median(r.last_first_seconds for r in runs)
    spread = " / ".join(f"{n:,}" for n in runs[-1].per_consumer)
    print(
        f"    {subject}: first event {first * 1000:.0f} ms after the start (median), the "
        f"last consumer's first {last * 1000:.0f} ms; {sum(r.redelivered for r in runs)} "
        f"redelivered; per consumer (last run) {spread}",
        flush=True,
    )
