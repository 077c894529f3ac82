"""Subscriptions under load: the server's memory and threads stay flat.

The server runs as its own process (``logicblocks-event-store serve``), so its resident
set and thread count can be read from ``/proc``.

- A slow subscriber behind a fast writer: the server must wait on flow control and read
  on from storage at the subscriber's pace, never buffer the backlog (tens of MiB here).
- 1,000 idle subscriptions on one server: each awaits a wake-up, so they cost no thread
  each and little memory. The client side runs them all in one asyncio loop on a few
  channels with ``grpc.aio`` (the sync client would need a thread per blocking iteration).
"""

import asyncio
import threading
import time
from pathlib import Path

import grpc

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc
from tests.support.server_process import (
    COMMAND,
    ServerProcess,
    resident_set_bytes,
    thread_count,
)

MIB = 1024 * 1024
TIMEOUT = 120.0

SLOW_EVENTS = 40_000
PAYLOAD_BYTES = 2_000
BATCH = 500
# The backlog carries ~76 MiB of payloads (several times that as Python objects); a
# server holding it would grow past this. What a paused subscriber does cost, measured at
# about 30 MiB, is the same for backlogs of 10,000 and 80,000 events: a page of events,
# the transport's windows and allocator slack, not the backlog.
SLOW_ALLOWED_GROWTH = 64 * MIB

# Exactly the server's default limits: 1,000 subscriptions, 100 per connection.
IDLE_SUBSCRIPTIONS = 1_000
CHANNELS = 10
IDLE_ALLOWED_GROWTH = 100 * MIB
# A thread per subscription would add 1,000; the storage pool may still start a few.
IDLE_ALLOWED_THREADS = 40


def identity(event: StoredEvent) -> tuple[str, int]:
    """What tells events apart, and their order."""
    return event.id, event.sequence_number


def serve_sqlite(tmp_path: Path) -> list[str]:
    return [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", f"sqlite:///{tmp_path}/e.db"]


def test_a_slow_subscriber_behind_a_fast_writer_keeps_server_memory_flat(
    tmp_path: Path,
) -> None:
    blob = "x" * PAYLOAD_BYTES
    with (
        ServerProcess(serve_sqlite(tmp_path)) as server,
        GrpcStorageAdapter(target=server.target) as adapter,
    ):
        pid = server.process.pid
        stream = EventStore(adapter).stream(category="big", stream="s")

        # The test keeps (id, sequence number) pairs, not the payloads, to stay small itself.
        def publish(count: int, start: int) -> list[tuple[str, int]]:
            stored: list[tuple[str, int]] = []
            for first in range(start, start + count, BATCH):
                stored += map(
                    identity,
                    stream.publish(
                        events=[
                            NewEvent(name="filler", payload={"n": n, "blob": blob})
                            for n in range(first, first + BATCH)
                        ]
                    ),
                )
            return stored

        # Warm the publish and subscribe paths so the baseline includes their code and caches.
        warm = publish(2 * BATCH, 0)
        subscription = adapter.subscribe(target=identifier.Log())
        received = [identity(next(subscription)) for _ in warm]
        assert received == warm
        baseline = resident_set_bytes(pid)

        # The writer publishes the whole backlog while the subscriber reads nothing.
        backlog: list[tuple[str, int]] = []
        writer = threading.Thread(
            target=lambda: backlog.extend(publish(SLOW_EVENTS, len(warm))), name="writer"
        )
        writer.start()
        peak_while_writing = baseline
        while writer.is_alive():
            peak_while_writing = max(peak_while_writing, resident_set_bytes(pid))
            writer.join(timeout=0.05)
        assert len(backlog) == SLOW_EVENTS

        # Then the subscriber reads on, an event at a time, sampling the server as it goes.
        peak = peak_while_writing
        for count in range(1, SLOW_EVENTS + 1):
            received.append(identity(next(subscription)))
            if count % 1_000 == 0:
                peak = max(peak, resident_set_bytes(pid))
        subscription.close()
    print(
        f"server RSS: baseline {baseline / MIB:.1f} MiB, "
        f"peak while the writer ran ahead {peak_while_writing / MIB:.1f} MiB, "
        f"peak over the catch-up {peak / MIB:.1f} MiB; "
        f"backlog {SLOW_EVENTS * PAYLOAD_BYTES / MIB:.0f} MiB of payloads"
    )
    assert received == warm + backlog
    assert peak_while_writing - baseline < SLOW_ALLOWED_GROWTH
    assert peak - baseline < SLOW_ALLOWED_GROWTH


async def hold_idle_subscriptions(target: str, pid: int) -> dict[str, int]:
    """Open the idle subscriptions, publish one event, check every one receives it.

    Returns the server's thread count and RSS before, with the subscriptions caught up,
    and after the event reached them all.
    """
    figures = {"threads_before": thread_count(pid), "rss_before": resident_set_bytes(pid)}
    # Separate connections: channels with equal arguments would share one subchannel.
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(CHANNELS)
    ]
    caught_up = 0
    all_caught_up = asyncio.Event()
    live: list[int] = []

    async def subscribe(index: int) -> None:
        nonlocal caught_up
        stub = event_store_pb2_grpc.EventStoreStub(channels[index % CHANNELS])
        call = stub.Subscribe(
            event_store_pb2.SubscribeRequest(
                target={"category": {"category": f"idle-{index % 7}"}}, end={}
            )
        )
        async for message in call:
            kind = message.WhichOneof("content")
            if kind == "caught_up":
                caught_up += 1
                if caught_up == IDLE_SUBSCRIPTIONS:
                    all_caught_up.set()
            elif kind == "events":
                live.extend(event.sequence_number for event in message.events.events)
                return

    try:
        tasks = [asyncio.create_task(subscribe(index)) for index in range(IDLE_SUBSCRIPTIONS)]
        await asyncio.wait_for(all_caught_up.wait(), TIMEOUT)
        figures["threads_idle"] = thread_count(pid)
        figures["rss_idle"] = resident_set_bytes(pid)

        def publish_everywhere() -> None:
            with GrpcStorageAdapter(target=target) as adapter:
                store = EventStore(adapter)
                for category in range(7):
                    store.stream(category=f"idle-{category}", stream="s").publish(
                        events=[NewEvent(name="wake", payload={})]
                    )

        await asyncio.to_thread(publish_everywhere)
        await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
        assert len(live) == IDLE_SUBSCRIPTIONS
        figures["threads_after"] = thread_count(pid)
        figures["rss_after"] = resident_set_bytes(pid)
    finally:
        for channel in channels:
            await channel.close(None)
    return figures


def test_a_thousand_idle_subscriptions_cost_no_thread_each_and_little_memory(
    tmp_path: Path,
) -> None:
    with ServerProcess(serve_sqlite(tmp_path)) as server:
        pid = server.process.pid
        started = time.monotonic()
        figures = asyncio.run(hold_idle_subscriptions(server.target, pid))
        elapsed = time.monotonic() - started
    print(
        f"{IDLE_SUBSCRIPTIONS} subscriptions in {elapsed:.1f} s: server threads "
        f"{figures['threads_before']} -> {figures['threads_idle']} idle -> "
        f"{figures['threads_after']} after a wake-up; RSS {figures['rss_before'] / MIB:.1f} -> "
        f"{figures['rss_idle'] / MIB:.1f} -> {figures['rss_after'] / MIB:.1f} MiB"
    )
    for moment in ("idle", "after"):
        assert figures[f"threads_{moment}"] - figures["threads_before"] < IDLE_ALLOWED_THREADS
        assert figures[f"rss_{moment}"] - figures["rss_before"] < IDLE_ALLOWED_GROWTH
