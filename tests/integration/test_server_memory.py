"""Slow and stalled readers keep the server's memory bounded (bounded memory, pull).

The server runs as its own process on SQLite, so its resident set holds what the scan
holds, not the stored events. A reader that stops after the first message must make the
server wait; reading on must never make it hold much more than a page, a page is bounded
by bytes as well as by count, and scans in progress are capped.
"""

import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc
from tests.support.server_process import COMMAND, ServerProcess, resident_set_bytes

EVENTS = 48_000
PAYLOAD_BYTES = 4_000
MIB = 1024 * 1024
# The scan carries ~190 MiB of payloads; a server holding it (or any large part of it)
# would grow by that much. A page of events and the transport's buffers fit well within.
ALLOWED_GROWTH = 64 * MIB
# How long the paused reader gives a misbehaving server to run ahead and buffer.
PAUSE_SECONDS = 3.0


def publish_many(target: str) -> None:
    blob = "x" * PAYLOAD_BYTES
    with GrpcStorageAdapter(target=target) as adapter:
        stream = EventStore(adapter).stream(category="big", stream="scan")
        for start in range(0, EVENTS, 500):
            stream.publish(
                events=[
                    NewEvent(name="filler", payload={"n": n, "blob": blob})
                    for n in range(start, start + 500)
                ]
            )


def test_a_slow_reader_of_a_large_scan_keeps_server_memory_flat(tmp_path: Path) -> None:
    command = [
        COMMAND,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--storage",
        f"sqlite:///{tmp_path}/e.db",
    ]
    with ServerProcess(command) as server:
        pid = server.process.pid
        publish_many(server.target)
        with grpc.insecure_channel(server.target) as channel:
            stub = event_store_pb2_grpc.EventStoreStub(channel)
            # Warm the scan path on a small scan so the baseline includes its code and caches.
            warm = stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}, limit=2_000))
            assert sum(len(m.events) for m in warm) == 2_000
            baseline = resident_set_bytes(pid)

            scan = iter(stub.Scan(event_store_pb2.ScanRequest(target={"log": {}})))
            received = len(next(scan).events)
            # The reader pauses: watch for the server running ahead and buffering.
            peak = baseline
            deadline = time.monotonic() + PAUSE_SECONDS
            while time.monotonic() < deadline and peak - baseline < ALLOWED_GROWTH:
                peak = max(peak, resident_set_bytes(pid))
                time.sleep(0.05)  # waits-on-purpose: the reader pausing is what is tested
            paused_peak = peak
            # Then reads on, a message at a time, sampling the server as it goes.
            for message in scan:
                received += len(message.events)
                peak = max(peak, resident_set_bytes(pid))
        print(
            f"server RSS: baseline {baseline / MIB:.1f} MiB, "
            f"peak while paused {paused_peak / MIB:.1f} MiB, "
            f"peak over the scan {peak / MIB:.1f} MiB, "
            f"scanned {EVENTS * PAYLOAD_BYTES / MIB:.0f} MiB of payloads"
        )
    assert received == EVENTS
    assert paused_peak - baseline < ALLOWED_GROWTH
    assert peak - baseline < ALLOWED_GROWTH


# Events of 1000 KiB, the size the default payload limit allows: a page bounded by count
# alone (500 events) held the whole log here, for every stalled reader.
LARGE_EVENTS = 100
LARGE_PAYLOAD_CHARACTERS = 1000 * 1024 - 32
# Six stalled readers hold a page and a message each, about 2 MiB per reader with these
# events (the benchmark measures them); bounded by count alone they held the log each.
STALLED_ALLOWED_GROWTH = 192 * MIB
# What may stay held once they are gone: the allocator's arenas, not the pages.
RETURNED_WITHIN = 64 * MIB


def publish_large(target: str, count: int) -> None:
    with GrpcStorageAdapter(target=target) as adapter:
        stream = EventStore(adapter).stream(category="large", stream="events")
        for start in range(0, count, 8):
            stream.publish(
                events=[
                    NewEvent(name="large", payload={"n": n, "blob": "x" * LARGE_PAYLOAD_CHARACTERS})
                    for n in range(start, min(start + 8, count))
                ]
            )


def open_stalled(channel: grpc.Channel, kind: str) -> Any:
    """A scan or subscription of the whole log that has read one message and reads no more."""
    stub = event_store_pb2_grpc.EventStoreStub(channel)
    call: Any = (
        stub.Scan(event_store_pb2.ScanRequest(target={"log": {}}))
        if kind == "scan"
        else stub.Subscribe(event_store_pb2.SubscribeRequest(target={"log": {}}))
    )
    first = next(call)
    # A subscription's events sit one level down (SubscribeResponse.events.events).
    events = first.events if kind == "scan" else first.events.events
    assert len(events) >= 1
    return call


def own_channel(target: str) -> grpc.Channel:
    # A local subchannel pool: a connection of its own, as separate clients would have.
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


def test_stalled_scans_and_subscriptions_of_large_events_keep_server_memory_bounded(
    tmp_path: Path,
) -> None:
    command = [
        COMMAND,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--storage",
        f"sqlite:///{tmp_path}/e.db",
    ]
    with ServerProcess(command) as server:
        pid = server.process.pid
        publish_large(server.target, LARGE_EVENTS)
        with own_channel(server.target) as channel:
            warm = event_store_pb2_grpc.EventStoreStub(channel).Scan(
                event_store_pb2.ScanRequest(target={"log": {}}, limit=2)
            )
            assert sum(len(m.events) for m in warm) == 2
        baseline = resident_set_bytes(pid)

        channels = [own_channel(server.target) for _ in range(6)]
        calls = [
            open_stalled(channel, "scan" if index < 3 else "subscription")
            for index, channel in enumerate(channels)
        ]
        # The readers stall: watch for the server reading ahead for them.
        peak = baseline
        deadline = time.monotonic() + PAUSE_SECONDS
        while time.monotonic() < deadline and peak - baseline < STALLED_ALLOWED_GROWTH:
            peak = max(peak, resident_set_bytes(pid))
            time.sleep(0.05)  # waits-on-purpose: the readers stalling is what is tested
        for call in calls:
            call.cancel()
        for channel in channels:
            channel.close()
        returned = wait_until(
            lambda: resident_set_bytes(pid) - baseline < RETURNED_WITHIN, timeout=30
        )
        print(
            f"server RSS: baseline {baseline / MIB:.1f} MiB, peak with six stalled readers "
            f"{peak / MIB:.1f} MiB, after they went {resident_set_bytes(pid) / MIB:.1f} MiB"
        )
    assert peak - baseline < STALLED_ALLOWED_GROWTH
    assert returned, "the server kept the memory of readers that had gone"


def test_scans_over_the_caps_are_refused_naming_the_limit() -> None:
    command = [
        COMMAND,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--storage",
        "memory://",
        "--max-scans",
        "3",
        "--max-scans-per-connection",
        "2",
    ]
    with ServerProcess(command) as server:
        # More than any flow-control window: a scan read once stays open.
        publish_large(server.target, 40)
        first, second, third = (own_channel(server.target) for _ in range(3))
        with first, second, third:
            held = [open_stalled(first, "scan"), open_stalled(first, "scan")]
            with pytest.raises(grpc.RpcError) as per_connection:
                open_stalled(first, "scan")
            assert per_connection.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_scans_per_connection=2" in str(per_connection.value.details())

            held.append(open_stalled(second, "scan"))
            with pytest.raises(grpc.RpcError) as per_server:
                open_stalled(third, "scan")
            assert per_server.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_scans=3" in str(per_server.value.details())

            # A slot comes back when its scan ends.
            held.pop().cancel()
            assert wait_until(lambda: _scan_opens(third), timeout=30)
            for call in held:
                call.cancel()


def _scan_opens(channel: grpc.Channel) -> bool:
    try:
        open_stalled(channel, "scan").cancel()
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        return False
    return True
