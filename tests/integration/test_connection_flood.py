"""A flood of connections that never call leaves the server serving, with bounded resources.

The server runs as its own process with a small connection cap and short handshake and
idle timeouts. The test opens loopback connections, some bare TCP, some sending the HTTP/2
preface and SETTINGS and nothing else, until the server logs that it is full, and holds
the last thousand open; an ordinary client must still publish and read, and the server's
open files and memory must not follow the flood.
"""

import re
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2, targets_pb2
from tests.support.server_process import (
    COMMAND,
    ServerProcess,
    descriptor_count,
    resident_set_bytes,
)

CAP = 20
HELD = 1000
MIB = 1024 * 1024
# Thousands of connections cost an uncapped server tens of MiB of buffers; the capped one
# holds a few hundred KiB for its 20. The margin is many times the capped figure.
ALLOWED_GROWTH = 48 * MIB
# What the server may open besides its capped connections while the flood is held: the
# one being accepted and closed over the cap, the test client's, the storage's.
SPARE_FILES = 16
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
REACHED = re.compile(r"event=connection_limit_reached connections=\d+ max_connections=20")


@contextmanager
def flood(port: int) -> Iterator[threading.Event]:
    """Open connections, alternately bare and preface-only, until ``stop`` is set, holding
    the newest ``HELD`` open (the server closes most of them itself); then hold those to
    the end."""
    stop = threading.Event()
    held: deque[socket.socket] = deque()

    def open_connections() -> None:
        index = 0
        while not stop.is_set():
            connection = socket.create_connection(("127.0.0.1", port))
            if index % 2:
                connection.sendall(HTTP2_PREFACE)
            held.append(connection)
            if len(held) > HELD:
                held.popleft().close()
            index += 1

    opener = threading.Thread(target=open_connections, daemon=True)
    opener.start()
    try:
        yield stop
    finally:
        stop.set()
        opener.join()
        for connection in held:
            connection.close()


def publish_and_read(target: str) -> list[events_pb2.StoredEvent]:
    """An ordinary caller: waits for a connection rather than failing at once."""
    with grpc.insecure_channel(target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        stub.Publish(
            event_store_pb2.PublishRequest(
                target=targets_pb2.Stream(category="flood", stream="s"),
                events=[events_pb2.NewEvent(name="survived", payload=b'{"ok":true}')],
            ),
            timeout=60,
            wait_for_ready=True,
        )
        scan = stub.Scan(
            event_store_pb2.ScanRequest(target=targets_pb2.Target(log=targets_pb2.Log())),
            timeout=60,
            wait_for_ready=True,
        )
        return [event for message in scan for event in message.events]


def test_a_flood_of_idle_connections_leaves_the_server_serving() -> None:
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]
    command += ["--max-connections", str(CAP), "--max-handshake-seconds", "1"]
    command += ["--max-connection-idle-seconds", "2"]
    with ServerProcess(command) as server:
        pid = server.process.pid
        assert len(publish_and_read(server.target)) == 1
        files_before = descriptor_count(pid)
        memory_before = resident_set_bytes(pid)

        with flood(server.port) as stop:
            server.wait_for_line(REACHED, timeout=30)
            stop.set()
            # The flood's last connections are still held open here.
            files_during = descriptor_count(pid)
            stored = publish_and_read(server.target)
            files_after = descriptor_count(pid)
            memory_after = resident_set_bytes(pid)

        assert [event.name for event in stored] == ["survived", "survived"]
        for files in (files_during, files_after):
            assert files <= files_before + CAP + SPARE_FILES, (files_before, files)
        assert memory_after - memory_before < ALLOWED_GROWTH, (memory_before, memory_after)
        server.signal(15)
        assert server.wait(timeout=30) == 0
    log = server.lines
    assert sum(1 for line in log if "event=connection_limit_reached" in line) == 1
    # Every line is a structured one: gRPC's own complaints (file descriptors running
    # out, every second) never appear.
    assert [line for line in log if not line.startswith("time=")] == []
