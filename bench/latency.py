"""W4: publish-to-delivery latency with many subscribers while publishing at a fixed rate."""

import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent

from .cpu import Meter, Reading, Usage, per_operation
from .events import CATEGORY

__all__ = ["LatencyResult", "measure_latency"]

_READY_TIMEOUT = 60.0
# Enough publishers that the rate holds while each publish waits on a busy machine.
_PUBLISHER_THREADS = 10


@dataclass
class LatencyResult:
    """Percentiles over every delivery to every subscriber, or why there are none."""

    unavailable: str | None = None
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    # The baseline in the same run: how long the same publishes took to be acknowledged.
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    deliveries: int = 0
    expected: int = 0
    published_per_second: float = 0.0
    delivered_per_second: float = 0.0
    # CPU per published event (client: the publishing process) and per delivered event
    # (client: the subscribers' processes), from the schedule's start to the last delivery.
    cpu_published: Usage = field(default_factory=Usage)
    cpu_delivered: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _tick(kind: str) -> NewEvent:
    return NewEvent(name="tick", payload={"kind": kind, "sent": time.time()})


def measure_latency(
    server_target: str,
    subscribe_with: list[str],
    subscribers: int,
    processes: int,
    events_per_second: float,
    seconds: float,
    meter: Meter,
) -> LatencyResult:
    """Run ``subscribers`` subscriptions in ``processes`` children (``subscribe_with`` are
    their ``bench.subscribers`` arguments), publish through ``server_target`` at
    ``events_per_second`` for ``seconds``, and gather the latencies and, by ``meter``
    (whose client is this process), the CPU spent."""
    per_process = subscribers // processes
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.subscribers",
                *subscribe_with,
                "--count",
                str(per_process),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    lines: list[list[str]] = [[] for _ in children]
    readers = [
        threading.Thread(
            target=lambda c=child, out=lines[i]: out.extend(line.strip() for line in c.stdout),
            daemon=True,
        )
        for i, child in enumerate(children)
    ]
    for reader in readers:
        reader.start()
    result = LatencyResult()
    adapter = GrpcStorageAdapter(target=server_target)
    try:
        store = EventStore(adapter)
        warmup = store.stream(category=CATEGORY, stream="w4-warmup")
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            warmup.publish(events=[_tick("warmup")])
            answered = [out[0] for out in lines if out]
            for answer in answered:
                if answer != "ready":
                    result.unavailable = json.loads(answer).get("unavailable", answer)
                    return result
            if len(answered) == len(children):
                break
            if time.monotonic() > deadline:
                result.unavailable = "subscribers did not become ready in time"
                return result
            time.sleep(0.1)

        total = int(events_per_second * seconds)
        per_thread = total // _PUBLISHER_THREADS
        interval = _PUBLISHER_THREADS / events_per_second
        before = meter.begin()
        started = time.perf_counter()
        acknowledged_ms: list[float] = []

        def publish(index: int) -> None:
            stream = store.stream(category=CATEGORY, stream=f"w4-{index}")
            first = started + index * interval / _PUBLISHER_THREADS
            for number in range(per_thread):
                # A fixed schedule: a late publish does not shift the ones after it.
                delay = first + number * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                sent = time.perf_counter()
                stream.publish(events=[_tick("measure")])
                acknowledged_ms.append((time.perf_counter() - sent) * 1000)

        threads = [
            threading.Thread(target=publish, args=(i,), daemon=True)
            for i in range(_PUBLISHER_THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        warmup.publish(events=[_tick("stop")])
        for reader in readers:
            reader.join(timeout=120)
        after = meter.end()
        latencies: list[float] = []
        subscribers_cpu = 0.0
        for out in lines:
            report = json.loads(out[-1]) if len(out) > 1 else {"latencies_ms": []}
            latencies.extend(report["latencies_ms"])
            subscribers_cpu += float(report.get("cpu_seconds", 0.0))
        published = per_thread * _PUBLISHER_THREADS
        result.expected = published * per_process * processes
        result.deliveries = len(latencies)
        result.published_per_second = published / elapsed
        result.delivered_per_second = result.deliveries / elapsed
        result.cpu_published = per_operation(before, after, published)
        result.cpu_delivered = per_operation(
            Reading(before.server, 0.0, before.postgres),
            Reading(after.server, subscribers_cpu, after.postgres),
            result.deliveries,
        )
        if latencies:
            result.p50_ms = statistics.median(latencies)
            result.p99_ms = _percentile(latencies, 0.99)
        if acknowledged_ms:
            result.ack_p50_ms = statistics.median(acknowledged_ms)
            result.ack_p99_ms = _percentile(acknowledged_ms, 0.99)
        return result
    finally:
        adapter.close()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
