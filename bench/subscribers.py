"""W4's subscribers, as a child process: ``python -m bench.subscribers``.

Opens ``--count`` subscriptions to the log from its end, through our server
(``--grpc HOST:PORT``) or through an in-process ``PostgresStorageAdapter``
(``--postgres URL``), one thread each. Protocol on stdout: ``ready`` once every subscription
has seen a warm-up event, then, after a ``stop`` event, one JSON line
``{"latencies_ms": [...], "cpu_seconds": ...}`` (the CPU this process spent from ``ready``
to the stop event); or ``{"unavailable": "..."}`` when subscribing fails.
Latency is the delivery time minus the ``sent`` wall-clock time the publisher put in the
payload (one machine, one clock).
"""

import argparse
import json
import os
import sys
import threading
import time

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
    StorageAdapter,
)
from logicblocks.event.store.subscription import Subscription

from .cpu import process_seconds

__all__ = ["main"]


def _adapter(arguments: argparse.Namespace) -> StorageAdapter:
    if arguments.grpc:
        return GrpcStorageAdapter(target=arguments.grpc)
    return PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(arguments.postgres),
        max_pool_size=max(4, arguments.count // 4),
    )


def main() -> None:
    """Subscribe, report readiness, collect latencies until the stop event."""
    parser = argparse.ArgumentParser(description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--grpc")
    where.add_argument("--postgres")
    parser.add_argument("--count", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=120.0)
    arguments = parser.parse_args()

    adapter = _adapter(arguments)
    store = EventStore(adapter)
    latencies: list[list[float]] = [[] for _ in range(arguments.count)]
    warmed = [threading.Event() for _ in range(arguments.count)]
    failures: list[str] = []
    subscriptions: list[Subscription] = []

    def follow(index: int, subscription: Subscription) -> None:
        mine = latencies[index]
        try:
            for event in subscription:
                received = time.time()
                kind = event.payload.get("kind")
                if kind == "measure":
                    mine.append((received - float(event.payload["sent"])) * 1000.0)
                elif kind == "warmup":
                    warmed[index].set()
                elif kind == "stop":
                    return
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
            warmed[index].set()

    try:
        for _ in range(arguments.count):
            subscriptions.append(store.log().subscribe(from_end=True))
    except Exception as error:
        print(json.dumps({"unavailable": f"{type(error).__name__}: {error}"}), flush=True)
        adapter.close()
        return
    threads = [
        threading.Thread(target=follow, args=(i, s), daemon=True)
        for i, s in enumerate(subscriptions)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + arguments.timeout
    for event in warmed:
        event.wait(max(0.0, deadline - time.monotonic()))
    if failures:
        print(json.dumps({"unavailable": failures[0]}), flush=True)
    else:
        cpu_at_ready = process_seconds(os.getpid())
        print("ready", flush=True)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        cpu_seconds = process_seconds(os.getpid()) - cpu_at_ready
        all_latencies = [value for mine in latencies for value in mine]
        report = {"latencies_ms": all_latencies, "failures": failures, "cpu_seconds": cpu_seconds}
        print(json.dumps(report), flush=True)
    for subscription in subscriptions:
        subscription.close()
    adapter.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
