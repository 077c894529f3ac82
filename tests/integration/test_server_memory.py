"""A slow reader of a large scan keeps the server's memory flat (bounded memory, pull).

The server runs as its own process on SQLite, so its resident set holds what the scan
holds, not the stored events. A reader that stops after the first message must make the
server wait; reading on must never make it hold much more than a page.
"""

import time
from pathlib import Path

import grpc

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
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
