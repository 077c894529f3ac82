"""SQLite on a full disk: publishes are refused as "storage full", certain and not retried.

The server runs as its own process on a SQLite file in a small tmpfs, a real filesystem
that fills up. A filler file takes most of it, so freeing space is deleting the filler.
"""

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from logicblocks.event.store import EventStore, LimitExceededError
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.server_process import COMMAND, ServerProcess

DISK = "2m"
FILLER_BYTES = 1536 * 1024
PAYLOAD = b'{"blob":"' + b"x" * 20_000 + b'"}'
# 2 MiB hold at most ~100 such events: the loop ends well before this.
MOST_PUBLISHES = 1000
STORAGE_FULL = re.compile(r'event=storage_full .*cause="the disk holding the storage is full')


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs at a fresh directory, most of it taken by ``filler``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        (disk / "filler").write_bytes(b"\0" * FILLER_BYTES)
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def publish(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    stub.Publish(
        event_store_pb2.PublishRequest(
            target=targets_pb2.Stream(category="disk", stream="full"),
            events=[events_pb2.NewEvent(name="filled", payload=PAYLOAD)],
        ),
        timeout=30,
    )


def test_a_full_disk_refuses_publishes_as_storage_full_until_space_is_freed(
    small_disk: Path,
) -> None:
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0"]
    command += ["--storage", f"sqlite:///{small_disk / 'events.db'}"]
    with ServerProcess(command) as server, grpc.insecure_channel(server.target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        stored = 0
        with pytest.raises(grpc.RpcError) as refused:
            for _ in range(MOST_PUBLISHES):
                publish(stub)
                stored += 1
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (refused.value.details() or "").startswith("storage full")
        assert stored > 0

        server.wait_for_line(STORAGE_FULL, timeout=30)

        # The Python client reports it as a refusal that wrote nothing, and does not
        # retry it (checked below: one storage_full line for each of the two publishes).
        with GrpcStorageAdapter(target=server.target) as adapter:
            store = EventStore(adapter)
            with pytest.raises(LimitExceededError, match="storage full"):
                store.stream(category="disk", stream="full").publish(
                    events=[NewEvent(name="filled", payload={"blob": "x" * 20_000})]
                )

            (small_disk / "filler").unlink()
            publish(stub)
            assert len(list(store.log())) == stored + 1
        server.signal(15)
        assert server.wait(timeout=30) == 0
    full = [line for line in server.lines if STORAGE_FULL.search(line)]
    assert len(full) == 2, full
