"""The processes a run needs: a throwaway PostgreSQL cluster and our server as a subprocess.

The server runs as a real process (``logicblocks-event-store serve``), as a deployment would,
so the client's and the server's Python each get their own interpreter and GIL, and the
server's memory can be read from ``/proc/<pid>/status``.
"""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.postgres import PostgresCluster, free_port

__all__ = [
    "BENCH_SETTINGS",
    "FAST_SETTINGS",
    "PostgresCluster",
    "ServerProcess",
    "free_port",
    "memory_kib",
    "postmaster_pid",
    "server_command",
]

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0
# PostgreSQL's defaults (fsync on, synchronous_commit on): every subject commits to the
# same durable cluster, so the figures include the commit cost a deployment pays, which is
# what group commit saves. ``FAST_SETTINGS`` (``--no-fsync``) takes the disk out of it.
BENCH_SETTINGS = {"max_connections": "400", "shared_buffers": "256MB"}
FAST_SETTINGS = {**BENCH_SETTINGS, "fsync": "off", "full_page_writes": "off"}


def server_command() -> list[str]:
    """The server's command line: the installed console script beside this interpreter."""
    script = Path(sys.executable).with_name("logicblocks-event-store")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "logicblocks.event.server.cli"]


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak) of process ``pid``, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def postmaster_pid(cluster: PostgresCluster) -> int:
    """The process id of the cluster's postmaster (the first line of ``postmaster.pid``),
    the parent of every backend and background process of the cluster."""
    lines = (cluster.directory / "data" / "postmaster.pid").read_text().splitlines()
    return int(lines[0])


class ServerProcess:
    """``logicblocks-event-store serve`` on a free loopback port in front of ``storage``."""

    def __init__(self, storage: str, log_path: Path) -> None:
        self.storage = storage
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def start(self) -> "ServerProcess":
        """Start the server and return once its health service says SERVING."""
        log = self._log_path.open("ab")
        self._process = subprocess.Popen(
            [
                *server_command(),
                "serve",
                "--listen",
                self.target,
                "--storage",
                self.storage,
                "--log-level",
                "WARNING",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with {self._process.returncode}; see {self._log_path}"
                    )
                try:
                    response = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        return self
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not become healthy; see {self._log_path}")
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server with SIGTERM (SIGKILL if it does not exit in time)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @classmethod
    @contextlib.contextmanager
    def running(cls, storage: str, log_path: Path) -> Iterator["ServerProcess"]:
        """A started server for the ``with`` block."""
        server = cls(storage, log_path).start()
        try:
            yield server
        finally:
            server.stop()
