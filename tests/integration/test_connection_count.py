"""The connection watch counts the connections this process holds on its port, not those
of another process on the same port (another worker of ``serve --workers``)."""

import socket
import subprocess
import sys

from logicblocks.event.server.connections import _established

# Another process: listens on a port, accepts one connection, holds it until stdin ends.
_OTHER = """
import socket, sys
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
accepted, _ = listener.accept()
print("accepted", flush=True)
sys.stdin.read()
"""


def test_only_this_processs_accepted_connections_count() -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert other.stdout is not None and other.stdin is not None
    try:
        port = int(other.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as client:
            assert other.stdout.readline() == "accepted\n"
            # Established on `port` in this namespace, but held by the other process.
            assert _established(port) == 0

            with socket.create_server(("127.0.0.1", 0)) as listener:
                own_port = listener.getsockname()[1]
                with socket.create_connection(("127.0.0.1", own_port)):
                    accepted, _ = listener.accept()
                    with accepted:
                        assert _established(own_port) == 1
            assert client.fileno() != -1
    finally:
        other.stdin.close()
        other.wait(timeout=30)


def test_connections_waiting_in_this_processs_accept_queue_count() -> None:
    # gRPC stops accepting at its cap: the connections over it wait in the listening
    # socket's queue, and the watch must see them to say the cap is reached.
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)),
            socket.create_connection(("127.0.0.1", port)),
        ):
            assert _established(port) == 2
            accepted, _ = listener.accept()
            with accepted:
                # One held, one still queued.
                assert _established(port) == 2
