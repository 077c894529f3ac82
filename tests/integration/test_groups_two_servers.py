"""Issue 14's proof: three consumer processes across two servers on one PostgreSQL
database share a group over 10,000 events in 200 streams; one consumer is SIGKILLed
mid-way and one server is restarted.

At the end every event was acknowledged; no consumer received position p+1 of a stream
before position p was acknowledged (by anyone); and an event was delivered more than once
only when its earlier delivery was in flight at a disruption: held, unacknowledged, by
the consumer that was killed or by one whose server went away.
"""

import itertools
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.groups import GroupSettings
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.postgres import PostgresCluster, free_port
from tests.support.server_process import COMMAND, ServerProcess

EVENTS = 10_000
STREAMS = 200
GROUP = "billing"
# Short timeouts, so the killed consumer's streams move on within seconds.
SETTINGS = GroupSettings(ack_timeout=2.0, member_timeout=1.0, max_in_flight=20, partitions=16)


@dataclass
class ConsumerLog:
    """What one consumer process wrote (see tests/support/group_consumer_process.py)."""

    deliveries: list[tuple[int, str, int, int, int]] = field(default_factory=list)
    acks: dict[int, list[int]] = field(default_factory=dict)
    breaks: list[int] = field(default_factory=list)

    def ack_times(self, seq: int) -> list[int]:
        """When this consumer sent acks of ``seq``, in order."""
        return self.acks.get(seq, [])

    @classmethod
    def read(cls, path: Path) -> "ConsumerLog":
        log = cls()
        for line in path.read_text().splitlines():
            kind, *values = line.split()
            if kind == "D" and len(values) == 5:
                seq, stream, position, attempt, at = values
                log.deliveries.append((int(seq), stream, int(position), int(attempt), int(at)))
            elif kind == "A" and len(values) == 2:
                log.acks.setdefault(int(values[0]), []).append(int(values[1]))
            elif kind == "B" and len(values) == 1:
                log.breaks.append(int(values[0]))
        return log


class Consumers:
    """Consumer processes, each appending to a file of its own."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        self.killed_at: dict[int, int] = {}

    def start(self, *targets: str) -> int:
        index = len(self.processes)
        self.processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.group_consumer_process",
                    GROUP,
                    str(self.path(index)),
                    *targets,
                ],
                cwd=Path(__file__).parents[2],
            )
        )
        return index

    def path(self, index: int) -> Path:
        return self.directory / f"consumer-{index}.log"

    def logs(self) -> list[ConsumerLog]:
        return [
            ConsumerLog.read(self.path(i)) if self.path(i).exists() else ConsumerLog()
            for i in range(len(self.processes))
        ]

    def acked(self) -> set[int]:
        return {seq for log in self.logs() for seq in log.acks}

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    with postgres_cluster.fresh_database("groups") as url:
        yield url


def serve(url: str, port: int) -> ServerProcess:
    return ServerProcess([COMMAND, "serve", "--listen", f"127.0.0.1:{port}", "--storage", url])


def test_three_consumers_on_two_servers_share_a_group_through_a_kill_and_a_restart(
    database: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    targets = [f"127.0.0.1:{port}" for port in ports]
    consumers = Consumers(tmp_path)
    with ExitStack() as stack:
        servers = [stack.enter_context(serve(database, port)) for port in ports]
        stack.callback(consumers.stop)
        with GrpcStorageAdapter(target=targets[0]) as adapter:
            store = EventStore(adapter)
            store.log().consumer_group(GROUP).create(settings=SETTINGS)
            for first in range(0, EVENTS, 500):
                # Publishes of 500 events, round robin over the streams.
                writes = defaultdict(list)
                for n in range(first, first + 500):
                    writes[f"s-{n % STREAMS}"].append(NewEvent(name="placed", payload={"n": n}))
                store.publish(
                    writes=[
                        store.stream(category="orders", stream=stream).write(events=events)
                        for stream, events in writes.items()
                    ]
                )
        consumers.start(targets[0], targets[1])
        consumers.start(targets[0], targets[1])
        victim = consumers.start(targets[1], targets[0])

        assert wait_until(lambda: len(consumers.acked()) >= EVENTS // 3, timeout=120)
        consumers.processes[victim].send_signal(signal.SIGKILL)
        consumers.processes[victim].wait(timeout=30)
        killed_at = time.monotonic_ns()

        assert wait_until(lambda: len(consumers.acked()) >= 2 * EVENTS // 3, timeout=120)
        restart_at = time.monotonic_ns()
        servers[0].signal(signal.SIGTERM)
        assert servers[0].wait(timeout=60) == 0
        servers[0] = stack.enter_context(serve(database, ports[0]))

        assert wait_until(lambda: len(consumers.acked()) >= EVENTS, timeout=180)
        consumers.stop()
        logs = consumers.logs()

    assert consumers.acked() == set(range(EVENTS))
    assert_stream_order(logs)
    assert_duplicates_were_in_flight(logs, victim, killed_at, restart_at)


def assert_stream_order(logs: list[ConsumerLog]) -> None:
    """No consumer received position p+1 of a stream before p's ack was sent."""
    first_ack: dict[int, int] = {}
    for log in logs:
        for seq, times in log.acks.items():
            first_ack[seq] = min(times[0], first_ack.get(seq, times[0]))
    by_stream: dict[str, dict[int, int]] = defaultdict(dict)
    deliveries = [d for log in logs for d in log.deliveries]
    for seq, stream, position, _, _ in deliveries:
        by_stream[stream][position] = seq
    for _, stream, position, _, at in deliveries:
        if position == 0:
            continue
        previous = by_stream[stream][position - 1]
        assert previous in first_ack and first_ack[previous] < at, (
            f"{stream} position {position} delivered before position {position - 1} was acked"
        )


def assert_duplicates_were_in_flight(
    logs: list[ConsumerLog], victim: int, killed_at: int, restart_at: int
) -> None:
    """A second delivery only of what a disrupted consumer held unacknowledged.

    Acknowledged means the group took the ack: the proof is that the stream's next event
    was delivered after the ack was sent, which the group does only once it has the ack
    (an ack sent just before a kill may never arrive). An event whose ack the group took
    must never be delivered again, whatever happened: a server restart saves what it
    took. Any other delivery that was repeated must have been held by a consumer that was
    disrupted afterwards: killed, or whose server went away.
    """
    disrupted_until: dict[int, int] = {
        index: max([broke for broke in log.breaks if broke >= restart_at], default=0)
        for index, log in enumerate(logs)
    }
    disrupted_until[victim] = max(disrupted_until[victim], killed_at)
    deliveries: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
    for index, log in enumerate(logs):
        for seq, stream, position, _, at in log.deliveries:
            deliveries[(stream, position)].append((at, index, seq))
    for (stream, position), delivered in deliveries.items():
        ordered = sorted(delivered)
        following = sorted(at for at, _, _ in deliveries.get((stream, position + 1), []))
        for (at, index, seq), (again, _, _) in itertools.pairwise(ordered):
            acked_at = next((when for when in logs[index].ack_times(seq) if when >= at), None)
            taken = acked_at is not None and any(acked_at < t < again for t in following)
            assert not taken, (
                f"event {seq} ({stream}@{position}) delivered again after its ack was taken"
            )
            assert at <= disrupted_until[index], (
                f"event {seq} ({stream}@{position}) delivered again, but consumer {index}"
                " that held it was never disrupted after"
            )
