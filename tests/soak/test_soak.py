"""Soak: steady publish and subscribe load through a server on PostgreSQL, for minutes.

Run with ``make soak`` (``SOAK_SECONDS``, default 120, sets the duration); ``make test``
leaves it out (marker ``soak``). Publishers (each with its own channel) publish paced
batches with ids they choose; subscribers of the log and of a category follow through the
same server; a churner keeps opening connections, short scans and subscriptions and
closing them, as short-lived clients do. The server's resident memory and open file
descriptors are sampled every second: the last third's peak must stay within a bound of
the first third's (a leak grows without bound; a working set levels off), and at the end
every subscriber has seen exactly the final log of its target.
"""

import os
import threading
import time
from contextlib import ExitStack

import pytest

from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import identifier
from tests.support.publish_load import check_log
from tests.support.retrying_publisher import RetryingPublisher, stop_all
from tests.support.server_process import (
    COMMAND,
    ServerProcess,
    descriptor_count,
    resident_set_bytes,
)
from tests.support.subscribers import Collector

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "120"))
SAMPLE_SECONDS = 1.0
PUBLISHERS = 3
# Seconds between one publisher's publishes: steady load, not a benchmark.
PUBLISH_INTERVAL = 0.02
CATEGORY = "soak"
TIMEOUT = 120.0
# How far the last third's peak may exceed the first third's.
RSS_BOUND = 16 * 1024 * 1024
RSS_RATIO = 1.10
FD_BOUND = 4

pytestmark = pytest.mark.soak


class Churner:
    """Opens a connection, a short scan and a subscription, closes them; again until stopped."""

    def __init__(self, target: str):
        self.rounds = 0
        self.error: BaseException | None = None
        self._target = target
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with GrpcStorageAdapter(target=self._target) as adapter:
                    # A live subscription from the end learns the head as it catches up.
                    subscription = adapter.subscribe(from_end=True)
                    head = subscription.checkpoint
                    subscription.close()
                    recent = adapter.scan(
                        target=identifier.Category(category=CATEGORY),
                        after_sequence_number=max(head - 200, -1),
                    )
                    sum(1 for _ in recent)
                self.rounds += 1
                self._stop.wait(0.2)
        except BaseException as error:  # reported by the test through ``error``
            self.error = error

    def stop(self) -> None:
        """Stop after the round in progress; fail on an error."""
        self._stop.set()
        self._thread.join(timeout=TIMEOUT)
        assert not self._thread.is_alive(), "the churner did not stop"
        assert self.error is None, f"the churner failed: {self.error!r}"


@pytest.mark.timeout(SOAK_SECONDS + 600)
def test_steady_load_keeps_memory_and_descriptors_flat(postgres_database: str) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", postgres_database]
    with ExitStack() as stack:
        server = stack.enter_context(ServerProcess(serve))
        pid = server.process.pid
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
                server.target,
                f"p{index}",
                categories=(CATEGORY, "other"),
                interval=PUBLISH_INTERVAL,
                seed=index,
            )
            for index in range(PUBLISHERS)
        ]
        for publisher in publishers:
            stack.callback(publisher.request_stop)
        churner = Churner(server.target)

        samples: list[tuple[float, int, int]] = []
        started = time.monotonic()
        pacing = threading.Event()  # never set: waits out the sampling interval
        while (elapsed := time.monotonic() - started) < SOAK_SECONDS:
            samples.append((elapsed, resident_set_bytes(pid), descriptor_count(pid)))
            assert all(p.error is None for p in publishers), "a publisher failed"
            pacing.wait(SAMPLE_SECONDS)
        stop_all(publishers)
        churner.stop()

        log = list(reader.scan())
        check_log(log, [outcome for p in publishers for outcome in p.outcomes])
        for target, collector in zip(targets, collectors, strict=True):
            expected = [
                e for e in log if isinstance(target, identifier.Log) or e.category == CATEGORY
            ]
            collector.wait_for_head(log[-1].sequence_number, TIMEOUT, count=len(expected))
            assert collector.events == expected, f"{collector.name} saw another log"

    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    first_rss, last_rss = max(s[1] for s in first), max(s[1] for s in last)
    first_fds, last_fds = max(s[2] for s in first), max(s[2] for s in last)
    print(
        f"soak: {SOAK_SECONDS:.0f} s, {len(log)} events, {churner.rounds} churn rounds; "
        f"RSS start {samples[0][1] / 2**20:.1f} MiB, first-third peak {first_rss / 2**20:.1f} "
        f"MiB, last-third peak {last_rss / 2**20:.1f} MiB, end {samples[-1][1] / 2**20:.1f} MiB; "
        f"fds start {samples[0][2]}, first-third peak {first_fds}, last-third peak {last_fds}, "
        f"end {samples[-1][2]}"
    )
    tenths = [samples[len(samples) * i // 10] for i in range(10)] + [samples[-1]]
    print(
        "soak: RSS MiB / fds by tenth: "
        + ", ".join(f"{t:.0f}s {r / 2**20:.1f}/{f}" for t, r, f in tenths)
    )
    assert last_rss <= max(first_rss * RSS_RATIO, first_rss + RSS_BOUND), "server RSS grew"
    assert last_fds <= first_fds + FD_BOUND, "server file descriptors grew"
