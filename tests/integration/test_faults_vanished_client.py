"""Fault: clients that vanish mid-scan and mid-subscription (SIGKILL of the client process).

Child processes, each with its own channel, stall in the middle of a large scan, stall in
the history of a subscription, or hold an idle live subscription, so that together they
hold every subscription slot of a server started with ``--max-subscriptions 3``. They are
killed with SIGKILL: no goodbye, the kernel just closes their sockets. The server must
notice and free what they held, seen from outside: the slots come back (new subscriptions
succeed), its thread count, resident memory and open file descriptors return near their
baseline, and it still answers health checks.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore, LimitExceededError
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.server_process import (
    COMMAND,
    ServerProcess,
    descriptor_count,
    healthy,
    resident_set_bytes,
    thread_count,
)

PROJECT = Path(__file__).resolve().parents[2]
SLOTS = 3
# 20,000 events of ~1 KiB: a scan far larger than the flow-control windows between the
# server and a reader, so a reader that stops reading leaves the server mid-scan.
EVENTS = 20_000
BATCH = 1_000
TIMEOUT = 30.0
# Near baseline: what a server may keep after its clients are gone (allocator arenas,
# a storage thread started late). Holding the scans and subscriptions costs more.
THREAD_SLACK = 2
RSS_SLACK = 24 * 1024 * 1024
FD_SLACK = 2

# A client that reads a little, then stops reading and waits to be killed.
_CLIENT = """
import sys, threading
from logicblocks.event.store.adapters import GrpcStorageAdapter

adapter = GrpcStorageAdapter(target=sys.argv[1])
mode = sys.argv[2]
if mode == "scan":
    reading = adapter.scan()
    next(reading)
elif mode == "history":
    reading = adapter.subscribe(after_sequence_number=-1)
    next(reading)
else:
    reading = adapter.subscribe(from_end=True)
print("ready", flush=True)
threading.Event().wait()
"""
MODES = ["scan", "scan", "history", "live", "live"]


def populate(target: str) -> None:
    """Publish ``EVENTS`` events of about 1 KiB each."""
    with GrpcStorageAdapter(target=target) as adapter:
        stream = EventStore(adapter).stream(category="bulk", stream="b-1")
        for start in range(0, EVENTS, BATCH):
            stream.publish(
                events=[
                    NewEvent(name="bulk", payload={"n": n, "padding": "x" * 1000})
                    for n in range(start, start + BATCH)
                ]
            )


def subscriptions_granted(adapter: GrpcStorageAdapter, count: int) -> bool:
    """Whether ``count`` live subscriptions can be opened now; closes them again."""
    opened: list[Subscription] = []
    try:
        for _ in range(count):
            opened.append(adapter.subscribe(from_end=True))
        return True
    except LimitExceededError as error:
        assert "max_subscriptions" in str(error)
        return False
    finally:
        for subscription in opened:
            subscription.close()


def figures(pid: int) -> dict[str, int]:
    """The server's threads, resident memory and open file descriptors now."""
    return {
        "threads": thread_count(pid),
        "rss": resident_set_bytes(pid),
        "fds": descriptor_count(pid),
    }


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Client processes started by the test; any left alive are killed at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=TIMEOUT)


def test_the_server_frees_what_vanished_clients_held(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    serve = [
        *(COMMAND, "serve", "--listen", "127.0.0.1:0"),
        *("--storage", f"sqlite:///{tmp_path}/events.db"),
        *("--max-subscriptions", str(SLOTS)),
    ]
    with ExitStack() as stack:
        server = stack.enter_context(ServerProcess(serve))
        pid = server.process.pid
        populate(server.target)
        adapter = stack.enter_context(GrpcStorageAdapter(target=server.target))
        # Warm up what a server keeps once used (storage threads, allocator arenas): one
        # full scan and a full set of subscriptions, so the baseline is a used server's.
        assert sum(1 for _ in adapter.scan()) == EVENTS
        assert subscriptions_granted(adapter, SLOTS)
        baseline = figures(pid)

        for mode in MODES:
            child = subprocess.Popen(
                [sys.executable, "-c", _CLIENT, server.target, mode],
                cwd=PROJECT,
                stdout=subprocess.PIPE,
                text=True,
            )
            children.append(child)
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", f"the {mode} client failed"
        # The children hold every slot.
        assert not subscriptions_granted(adapter, 1)
        held = figures(pid)

        for child in children:
            os.kill(child.pid, signal.SIGKILL)
        for child in children:
            child.wait(timeout=TIMEOUT)

        assert wait_until(lambda: subscriptions_granted(adapter, SLOTS), TIMEOUT)
        assert wait_until(lambda: descriptor_count(pid) <= baseline["fds"] + FD_SLACK, TIMEOUT), (
            f"descriptors: baseline {baseline}, held {held}, now {descriptor_count(pid)}"
        )
        assert wait_until(
            lambda: thread_count(pid) <= baseline["threads"] + THREAD_SLACK, TIMEOUT
        ), f"threads: baseline {baseline}, held {held}, now {thread_count(pid)}"
        assert wait_until(
            lambda: resident_set_bytes(pid) <= baseline["rss"] + RSS_SLACK, TIMEOUT
        ), f"RSS: baseline {baseline}, held {held}, now {resident_set_bytes(pid)}"
        assert healthy(server.target)
        assert sum(1 for _ in adapter.scan()) == EVENTS
