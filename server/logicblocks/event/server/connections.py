"""Bounds on connections: open files, gRPC's connection arguments, and a log when full.

A flood of connections that never finish a handshake, or finish it and never call, must
not take the server's file descriptors: with none left, gRPC cannot accept the connections
of legitimate callers either. So the process raises its open-files limit to the most it
may, caps connections below it (gRPC closes those over the cap as soon as it accepts them),
and closes connections that sit without finishing their handshake or without a call.
"""

import asyncio
import logging
import resource
from pathlib import Path

from .limits import Limits

__all__ = [
    "ConnectionWatch",
    "connection_cap",
    "connection_options",
    "raise_open_files_limit",
]

_log = logging.getLogger("logicblocks.event.server")

# Files the process needs besides its connections: storage files and database
# connections, the listening socket, gRPC's own pipes, the interpreter's.
RESERVED_FILES = 256

_ESTABLISHED = "01"
_LISTEN = "0A"


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            _log.warning("event=open_files_limit_unchanged soft=%d error=%r", soft, str(error))
    return soft


def connection_cap(limits: Limits, open_files: int) -> int:
    """``max_connections``, lowered if ``open_files`` leaves no room for it."""
    cap = limits.max_connections
    if open_files != resource.RLIM_INFINITY and cap > open_files - RESERVED_FILES:
        cap = max(1, open_files - RESERVED_FILES)
        _log.warning(
            "event=max_connections_lowered max_connections=%d open_files_limit=%d reason=%r",
            cap,
            open_files,
            "the open-files limit leaves no room for more; raise it (ulimit -n) to allow more",
        )
    return cap


def connection_options(limits: Limits, cap: int) -> list[tuple[str, int]]:
    """gRPC server arguments: at most ``cap`` connections, handshake and idle timeouts."""
    return [
        ("grpc.max_allowed_incoming_connections", cap),
        # Covers the TCP accept, TLS, and the client's HTTP/2 preface and SETTINGS.
        ("grpc.server_handshake_timeout_ms", limits.max_handshake_seconds * 1000),
        # A connection without a call for this long gets GOAWAY and is closed; clients
        # reconnect on their next call.
        ("grpc.max_connection_idle_ms", limits.max_connection_idle_seconds * 1000),
    ]


def _socket_inodes() -> set[str]:
    """The inodes of the sockets this process holds open (Linux)."""
    inodes = set()
    for descriptor in Path("/proc/self/fd").iterdir():
        try:
            target = descriptor.readlink().name
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _established(port: int) -> int:
    """Connections established to local ``port`` for this process (Linux): those it holds,
    and those waiting in its listening socket's accept queue (gRPC leaves them there once
    at its cap). Under ``serve --workers`` the other workers count their own."""
    wanted = f"{port:04X}"
    own = _socket_inodes()
    count = 0
    for name in ("tcp", "tcp6"):
        try:
            lines = Path("/proc/self/net", name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            # local address, remote address, state, tx_queue:rx_queue, ..., inode (the
            # tenth field); a listening socket's rx_queue is its accept queue's length.
            fields = line.split(None, 10)
            if fields[1].rpartition(":")[2] != wanted or fields[9] not in own:
                continue
            if fields[3] == _ESTABLISHED:
                count += 1
            elif fields[3] == _LISTEN:
                count += int(fields[4].partition(":")[2], 16)
    return count


class ConnectionWatch:
    """Logs once when connections reach the cap, and once when they are below it again.

    gRPC refuses the connections over the cap by itself and says nothing; this tells the
    operator, without a line per refused connection.
    """

    def __init__(self, port: int, cap: int, interval: float = 2.0):
        self._port = port
        self._cap = cap
        self._interval = interval
        self._full = False

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            count = await asyncio.to_thread(_established, self._port)
            self.observe(count)
            await asyncio.sleep(self._interval)

    def observe(self, count: int) -> None:
        """Take in the number of connections now open; log a change of state."""
        if not self._full and count >= self._cap:
            self._full = True
            _log.warning(
                "event=connection_limit_reached connections=%d max_connections=%d effect=%r",
                count,
                self._cap,
                "new connections are closed on accept until idle ones time out",
            )
        elif self._full and count < self._cap * 9 // 10:
            self._full = False
            _log.info(
                "event=connection_limit_cleared connections=%d max_connections=%d",
                count,
                self._cap,
            )
