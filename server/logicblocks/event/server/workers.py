"""``serve --workers N``: a supervisor process and N server processes on one port.

Each worker is a whole server (its own storage pool, log tail, threads and gRPC server)
bound to the same address with SO_REUSEPORT: the kernel hands each new connection to one
of them, and the connection stays with it. The workers agree on order through the
database, as separate servers on one PostgreSQL database do, which is why only PostgreSQL
storage may have more than one worker.

The supervisor, the process the user started:

- checks what can be checked once (the storage opens and its schema is migrated, the
  address and the metrics ports can be bound), so a start-up failure is one line;
- reserves the port when asked for port 0, holding a bound (not listening) SO_REUSEPORT
  socket, so that every worker binds the same port and nothing else takes it meanwhile;
- starts each worker as a fresh interpreter (``python -m logicblocks.event.server.worker``),
  never by forking itself: it has imported gRPC, whose threads and locks a fork would
  copy half-way;
- logs ``event=listening ... workers=N`` once every worker serves;
- forwards SIGTERM and SIGINT to the workers, which drain and stop as one server does;
- when a worker dies, stops the others and exits with status 1. It does not restart it:
  a crash is a bug or a lost resource that a restart would hide behind a port that still
  answers health checks; whatever runs the server (systemd, Docker, Kubernetes) restarts
  the whole of it and counts the restarts, and clients reconnect and retry publishes
  safely (their events carry ids).

Each worker reads its settings from its standard input, a pipe from the supervisor, then
watches that pipe: when it ends (the supervisor died, even by SIGKILL) the worker stops
as if signalled, so no worker outlives its supervisor. It reports that it serves by
writing a line on a second pipe, whose end also tells the supervisor that it exited.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .listen_address import bind_problem

__all__ = ["WorkerSeat", "supervise", "workers_refusal"]

_log = logging.getLogger("logicblocks.event.server")

# How long stopping workers get beyond their grace before they are killed.
_STOP_MARGIN_SECONDS = 30.0
_READY = b"ready\n"


@dataclass(frozen=True)
class WorkerSeat:
    """What a worker is told besides the command's arguments: which of ``count`` it is,
    the address (port resolved) and metrics address it serves, and its ready pipe."""

    index: int
    count: int
    listen: str
    metrics_listen: str | None
    ready_fd: int

    def log_context(self) -> dict[str, object]:
        """The fields that end each of the worker's log lines."""
        return {"worker": self.index, "pid": os.getpid()}

    def started(self, request_stop: Callable[[], None]) -> None:
        """Tell the supervisor this worker serves; stop when its pipe (stdin) ends."""
        # A supervisor gone already has no reader there; the watch below sees it at once.
        with contextlib.suppress(BrokenPipeError):
            os.write(self.ready_fd, _READY)
        loop = asyncio.get_running_loop()

        def supervisor_gone() -> None:
            if os.read(sys.stdin.fileno(), 4096) == b"":
                loop.remove_reader(sys.stdin.fileno())
                _log.warning("event=supervisor_gone effect=stopping")
                request_stop()

        loop.add_reader(sys.stdin.fileno(), supervisor_gone)


def workers_refusal(workers: int, storage_url: str) -> str | None:
    """Why ``workers`` processes cannot serve ``storage_url``, or ``None`` if they can."""
    if workers == 1:
        return None
    scheme = urlsplit(storage_url).scheme
    if scheme == "memory":
        return (
            f"--workers {workers} needs postgresql:// storage: memory:// is each process's "
            "own, so workers would hold different stores"
        )
    if scheme == "sqlite":
        return (
            f"--workers {workers} needs postgresql:// storage: SQLite takes one writer at a "
            "time on the file, so more processes add no write capacity, and a worker would "
            "notice another's commits only by polling"
        )
    return None


def _host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not (port.isascii() and port.isdigit()):
        raise ValueError(f"cannot listen on {listen}: expected HOST:PORT")
    return host, int(port)


def _reserve_port(host: str) -> socket.socket:
    """A socket bound to a free port of ``host`` with SO_REUSEPORT, not listening: the
    workers can bind the port beside it, and no other program can take it meanwhile."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host.strip("[]") or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    reserved = socket.socket(family, kind, protocol)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserved.bind(address)
    return reserved


def _shared_address(listen: str, what: str, reserved: list[socket.socket]) -> str:
    """``listen`` as every worker binds it: port 0 replaced by a port reserved here (its
    socket added to ``reserved``), a given port checked free; raises ``ValueError`` with
    the one-line reason (``what``: "listen", "serve HTTP")."""
    host, port = _host_port(listen)
    if port != 0:
        problem = bind_problem(listen)
        if problem is not None:
            raise ValueError(f"cannot {what} on {listen}: {problem}")
        return listen
    try:
        reserved.append(_reserve_port(host))
    except OSError as error:
        raise ValueError(f"cannot {what} on {listen}: {error.strerror or error}") from None
    return f"{host}:{reserved[-1].getsockname()[1]}"


def _metrics_addresses(metrics_listen: str | None, workers: int) -> list[str | None]:
    """Each worker's metrics address: worker k (from 0) on the given port + k, each its
    own with port 0; raises ``ValueError`` naming a port that cannot be bound."""
    if metrics_listen is None:
        return [None] * workers
    host, port = _host_port(metrics_listen)
    if port == 0:
        return [metrics_listen] * workers
    addresses = [f"{host}:{port + index}" for index in range(workers)]
    for address in addresses:
        problem = bind_problem(address)
        if problem is not None:
            raise ValueError(f"cannot serve metrics on {address}: {problem}")
    return list(addresses)


@dataclass
class _Worker:
    seat: WorkerSeat
    process: "subprocess.Popen[bytes]"
    ready_pipe: int
    ready: bool = False
    exited: bool = False


def _start_worker(arguments: argparse.Namespace, seat: WorkerSeat, read_end: int) -> _Worker:
    process = subprocess.Popen(
        [sys.executable, "-m", "logicblocks.event.server.worker", f"{seat.index}/{seat.count}"],
        stdin=subprocess.PIPE,
        pass_fds=(seat.ready_fd,),
    )
    assert process.stdin is not None
    # Kept open: its end is how the worker learns that the supervisor is gone.
    process.stdin.write(pickle.dumps((arguments, seat)))
    process.stdin.flush()
    return _Worker(seat, process, read_end)


def _exit_description(status: int) -> str:
    return signal.Signals(-status).name if status < 0 else str(status)


class _Supervisor:
    def __init__(self, arguments: argparse.Namespace, listen: str, metrics: list[str | None]):
        self._arguments = arguments
        self._listen = listen
        self._metrics = metrics
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()
        self._stopping = False
        self._status = 0

    def run(self) -> int:
        wake_read, wake_write = socket.socketpair()
        wake_write.setblocking(False)
        self._selector.register(wake_read, selectors.EVENT_READ, None)
        # Signals interrupt nothing: each is written as a byte to the wake-up socket.
        previous_fd = signal.set_wakeup_fd(wake_write.fileno())
        previous = {
            number: signal.signal(number, lambda *_: None)
            for number in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._start_all()
            self._loop(wake_read)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            signal.set_wakeup_fd(previous_fd)
            wake_read.close()
            wake_write.close()
            self._selector.close()
        return self._status

    def _start_all(self) -> None:
        count = len(self._metrics)
        for index, metrics in enumerate(self._metrics, start=1):
            read_end, write_end = os.pipe()
            seat = WorkerSeat(index, count, self._listen, metrics, write_end)
            try:
                worker = _start_worker(self._arguments, seat, read_end)
            finally:
                os.close(write_end)
            self._workers.append(worker)
            self._selector.register(read_end, selectors.EVENT_READ, worker)

    def _loop(self, wake_read: socket.socket) -> None:
        deadline: float | None = None
        while any(not worker.exited for worker in self._workers):
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            events = self._selector.select(timeout)
            if not events and deadline is not None:
                self._kill_remaining()
                deadline = None
                continue
            for key, _ in events:
                if key.data is None:
                    numbers = wake_read.recv(64)
                    if not self._stopping:
                        deadline = time.monotonic() + self._arguments.grace + _STOP_MARGIN_SECONDS
                    _log.info(
                        "event=signal_received signal=%s",
                        signal.Signals(numbers[-1]).name if numbers else "unknown",
                    )
                    self._stop(cause="signal")
                else:
                    worker: _Worker = key.data
                    if os.read(worker.ready_pipe, 64):
                        self._worker_ready(worker)
                    else:
                        self._worker_exited(worker)
                        if deadline is None:
                            deadline = (
                                time.monotonic() + self._arguments.grace + _STOP_MARGIN_SECONDS
                            )

    def _worker_ready(self, worker: _Worker) -> None:
        worker.ready = True
        if not self._stopping and all(other.ready for other in self._workers):
            _log.info(
                "event=listening address=%s port=%s workers=%d pids=%s tls=%s tokens=%s",
                self._listen,
                _host_port(self._listen)[1],
                len(self._workers),
                ",".join(str(other.process.pid) for other in self._workers),
                self._arguments.tls_cert is not None,
                "off" if self._arguments.auth_tokens_file is None else "on",
            )

    def _worker_exited(self, worker: _Worker) -> None:
        self._selector.unregister(worker.ready_pipe)
        os.close(worker.ready_pipe)
        status = worker.process.wait()
        worker.exited = True
        if self._stopping:
            # Killed by the forwarded SIGTERM before it could handle it: still stopped.
            if status not in (0, -signal.SIGTERM):
                self._status = 1
            return
        _log.error(
            "event=worker_exited worker=%d pid=%d exit=%s effect=%r",
            worker.seat.index,
            worker.process.pid,
            _exit_description(status),
            "stopping every worker",
        )
        # A worker that failed to start has said why on its own line (status 2).
        self._status = 2 if status == 2 and not worker.ready else 1
        self._stop(cause="worker_exited")

    def _stop(self, cause: str) -> None:
        """Ask every worker still running to drain and stop.

        SIGTERM whatever the supervisor received: a worker that is still starting ignores
        SIGINT (see ``worker``), and the two mean the same to a serving one.
        """
        if not self._stopping:
            _log.info("event=stopping_workers cause=%s", cause)
        self._stopping = True
        for worker in self._workers:
            if not worker.exited:
                # Popen's own: nothing is sent to a worker already gone and reaped.
                worker.process.send_signal(signal.SIGTERM)

    def _kill_remaining(self) -> None:
        for worker in self._workers:
            if not worker.exited:
                _log.error(
                    "event=worker_killed worker=%d pid=%d reason=%r",
                    worker.seat.index,
                    worker.process.pid,
                    "still running after the grace period",
                )
                worker.process.kill()
        self._status = 1


def supervise(arguments: argparse.Namespace) -> int:
    """Run ``arguments.workers`` workers of ``serve`` until a signal or a worker's death;
    return the exit status (2 for a start-up failure, printed as one line)."""
    reserved: list[socket.socket] = []
    try:
        try:
            listen = _shared_address(arguments.listen, "listen", reserved)
            http_listen = getattr(arguments, "http_listen", None)
            if http_listen is not None:
                # The HTTP face is shared by the workers as gRPC is: one port for all.
                shared = _shared_address(http_listen, "serve HTTP", reserved)
                arguments = argparse.Namespace(**{**vars(arguments), "http_listen": shared})
            metrics = _metrics_addresses(arguments.metrics_listen, arguments.workers)
        except ValueError as error:
            print(f"logicblocks-event-store: {error}", file=sys.stderr)
            return 2
        status = _Supervisor(arguments, listen, metrics).run()
        _log.info("event=stopped workers=%d exit=%d", arguments.workers, status)
        return status
    finally:
        for held in reserved:
            held.close()
