"""A consumer of a group in a process of its own, for tests that kill it with SIGKILL.

    python -m tests.support.group_consumer_process GROUP OUT TARGET [TARGET ...]

Consumes ``GROUP`` through the first server target, acknowledging every delivery; when
the server goes away it joins again through the next target (round robin), as a consumer
behind a load balancer would. It appends one line per step to ``OUT``, flushed at once,
so the test can read what it did up to the moment it was killed:

    D <sequence_number> <stream> <position> <attempt> <t>   a delivery was received
    A <sequence_number> <t>                                  about to acknowledge it
    B <t>                                                    the server went away

``t`` is ``time.monotonic_ns()``: one clock for every process of the machine, so lines of
several consumers can be ordered. ``A`` is written before the ack is sent and ``D`` after
the delivery arrived, so "A of p before D of p+1" in the files implies the server received
the ack of p before it handed out p+1.
"""

import itertools
import sys
import time
from typing import TextIO

from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import GrpcStorageAdapter


def consume(group: str, out: TextIO, targets: list[str]) -> None:
    """Consume until killed, rejoining through the next target when a server goes away."""
    for target in itertools.cycle(targets):
        try:
            with (
                GrpcStorageAdapter(target=target) as adapter,
                EventStore(adapter).consumer_group(group).consume() as deliveries,
            ):
                for delivery in deliveries:
                    event = delivery.event
                    out.write(
                        f"D {event.sequence_number} {event.stream} {event.position} "
                        f"{delivery.attempt} {time.monotonic_ns()}\n"
                    )
                    out.write(f"A {event.sequence_number} {time.monotonic_ns()}\n")
                    out.flush()
                    delivery.ack()
        except StorageUnavailableError:
            out.write(f"B {time.monotonic_ns()}\n")
            out.flush()
            # A client's reconnect backoff, so a server that is down is not hammered.
            time.sleep(0.1)  # waits-on-purpose: a reconnect backoff, not a wait for a result


def main() -> None:
    group, path, *targets = sys.argv[1:]
    with open(path, "a", buffering=1) as out:
        consume(group, out, targets)


if __name__ == "__main__":
    main()
