"""A publisher process for the SQLite durability tests, killed with SIGKILL by them.

Run as ``python sqlite_publisher.py MODE PATH [ARGS]``; it prints one line per step and
flushes it, so the parent knows exactly what was acknowledged before the kill:

- ``acks PATH PREFIX``: publishes one event at a time with id ``PREFIX-n`` forever,
  printing the id after each publish returned.
- ``batches PATH SIZE``: publishes batches of SIZE events forever, round robin over three
  streams, printing ``begin K`` before and ``ack K`` after publish K.
- ``count PATH BATCHES SIZE``: publishes BATCHES batches of SIZE events to one shared
  stream, then prints ``done`` and exits.
"""

import os
import sys

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.types import NewEvent

# Large enough payloads that a batch overflows SQLite's page cache and reaches the WAL
# before its commit, so a kill can land in the middle of a transaction.
PADDING = "x" * 1000


def publish_acks(store: EventStore, prefix: str) -> None:
    stream = store.stream(category="acks", stream="s")
    number = 0
    while True:
        event_id = f"{prefix}-{number}"
        stream.publish(events=[NewEvent(name="acked", payload={"n": number}, id=event_id)])
        print(event_id, flush=True)
        number += 1


def publish_batches(store: EventStore, size: int) -> None:
    batch = 0
    while True:
        stream = store.stream(category="batches", stream=f"s-{batch % 3}")
        events = [
            NewEvent(
                name="batched",
                payload={"batch": f"{os.getpid()}-{batch}", "size": size, "pad": PADDING},
            )
            for _ in range(size)
        ]
        print(f"begin {batch}", flush=True)
        stream.publish(events=events)
        print(f"ack {batch}", flush=True)
        batch += 1


def publish_count(store: EventStore, batches: int, size: int) -> None:
    stream = store.stream(category="shared", stream="s")
    for batch in range(batches):
        stream.publish(
            events=[
                NewEvent(name="counted", payload={"batch": f"{os.getpid()}-{batch}"})
                for _ in range(size)
            ]
        )
    print("done", flush=True)


def main(arguments: list[str]) -> None:
    mode, path, *rest = arguments
    with SqliteStorageAdapter(path=path) as adapter:
        store = EventStore(adapter)
        print("ready", flush=True)
        if mode == "acks":
            publish_acks(store, rest[0])
        elif mode == "batches":
            publish_batches(store, int(rest[0]))
        elif mode == "count":
            publish_count(store, int(rest[0]), int(rest[1]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
