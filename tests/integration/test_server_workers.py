"""``serve --workers 2``: two server processes on one port and one PostgreSQL database,
started, stopped and killed as users and orchestrators do, with writers in processes of
their own (each process is one connection, which the kernel gives to one worker)."""

import contextlib
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
)
from logicblocks.event.testing.waiting import wait_until
from tests.support.postgres import free_port
from tests.support.publish_load import (
    CATEGORY,
    Outcome,
    check_log,
    finish_writer_processes,
    start_writer_processes,
)
from tests.support.server_process import COMMAND, ServerProcess, healthy
from tests.support.subscribers import Collector

_PIDS = re.compile(r"event=listening address=\S+ port=\d+ workers=2 pids=(\d+),(\d+)")
TIMEOUT = 120.0


def serve_workers(storage_url: str, *extra: str) -> ServerProcess:
    """``serve --workers 2`` on a free port of loopback."""
    return ServerProcess(
        [
            COMMAND,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--storage",
            storage_url,
            "--workers",
            "2",
            *extra,
        ]
    )


def worker_pids(server: ServerProcess) -> set[int]:
    """The workers' process ids, from the supervisor's ``event=listening`` line."""
    for line in server.lines:
        match = _PIDS.search(line)
        if match:
            return {int(match.group(1)), int(match.group(2))}
    raise AssertionError("no event=listening line with workers=2:\n" + "\n".join(server.lines))


def logged(server: ServerProcess, pattern: str) -> re.Match[str]:
    """The first line of the server's log matching ``pattern``, read so far or to come."""
    found = re.compile(pattern)
    for line in server.lines:
        match = found.search(line)
        if match:
            return match
    return server.wait_for_line(found, TIMEOUT)


def line_pid(server: ServerProcess, pattern: str) -> int:
    """The ``pid`` of the first worker line matching ``pattern``, read so far or to come."""
    return int(logged(server, pattern + r".* pid=(\d+)").group(1))


def stopped(pid: int) -> bool:
    """Whether process ``pid`` has exited (gone, or a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_two_workers_share_the_load_one_gap_free_order_and_subscriptions(
    postgres_database: str,
) -> None:
    # DEBUG: each publish is logged by the worker that served it, with its pid.
    with (
        serve_workers(postgres_database, "--log-level", "DEBUG") as server,
        GrpcStorageAdapter(target=server.target) as reader,
    ):
        pids = worker_pids(server)
        assert len([line for line in server.lines if "event=listening" in line]) == 1
        assert healthy(server.target)
        # The test's own connection is one worker's: its subscription is served there.
        collector = Collector(EventStore(reader).category(category=CATEGORY).subscribe())
        subscribed_on = line_pid(server, "event=subscribed .*target=category:load")

        outcomes: list[Outcome] = []
        served: dict[int, int] = {}  # writer process -> the pid of the worker serving it
        # Four processes at first, then one at a time until both workers have served
        # one: which worker takes a connection is the kernel's hash of its addresses.
        batch = 4
        while set(served.values()) != pids:
            first = len(served)
            writers = start_writer_processes(
                [["--grpc", server.target]] * batch, writers=2, publishes=30, first=first
            )
            outcomes += finish_writer_processes(writers, timeout=TIMEOUT)
            for number in range(first, first + batch):
                # Writer 0 of every process publishes into its own stream (seed 0).
                served[number] = line_pid(
                    server, f"event=published category=load stream=own-p{number}-0 "
                )
            batch = 1
            assert len(served) < 40, f"40 connections, all to one worker: {served}"

        with PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_database)
        ) as direct:
            log = list(direct.scan())
        check_log(log, outcomes)
        assert len({outcome.writer for outcome in outcomes}) >= 8

        # The subscription, on one worker, saw every event in order, those published
        # through the other worker included.
        assert any(pid != subscribed_on for pid in served.values())
        collector.wait_for_head(log[-1].sequence_number, TIMEOUT, count=len(log))
        assert [event.id for event in collector.events] == [event.id for event in log]
        collector.close()

        server.signal(signal.SIGTERM)
        assert server.wait(TIMEOUT) == 0
    assert all(stopped(pid) for pid in pids)
    for pid in pids:
        assert any("event=stopped" in line and f"pid={pid}" in line for line in server.lines), (
            server.lines
        )


def test_a_killed_worker_stops_the_other_and_the_supervisor_exits_1(
    postgres_database: str,
) -> None:
    with serve_workers(postgres_database) as server:
        killed, other = sorted(worker_pids(server))
        subprocess.run(["kill", "-KILL", str(killed)], check=True)
        assert server.wait(TIMEOUT) == 1
    assert stopped(other)
    said = "\n".join(server.lines)
    assert re.search(rf"event=worker_exited worker=\d pid={killed} exit=SIGKILL", said), said
    assert re.search(rf"event=stopped .*pid={other}", said), said


def test_the_workers_stop_when_their_supervisor_is_killed(postgres_database: str) -> None:
    with serve_workers(postgres_database) as server:
        pids = worker_pids(server)
        server.signal(signal.SIGKILL)
        for pid in pids:
            logged(server, rf"event=stopped .*pid={pid}\b")
        assert wait_until(lambda: all(stopped(pid) for pid in pids), TIMEOUT)
    assert "event=supervisor_gone" in "\n".join(server.lines)


def test_metrics_ports_follow_one_another_and_a_taken_one_is_refused(
    postgres_database: str,
) -> None:
    with hold_the_port_after() as port:
        line, _ = refused("--storage", postgres_database, "--metrics-listen", f"127.0.0.1:{port}")
    assert line == (
        f"logicblocks-event-store: cannot serve metrics on 127.0.0.1:{port + 1}: "
        "address already in use"
    )

    port = free_port_and_next()
    with serve_workers(postgres_database, "--metrics-listen", f"127.0.0.1:{port}") as server:
        said = "\n".join(server.lines)
        for offset in (0, 1):
            assert re.search(rf"event=metrics_listening .*port={port + offset} ", said), said


def free_port_and_next() -> int:
    """A port that nothing uses right now, nor the next one (which a client socket of
    another test may hold: the kernel hands out ports from the same range)."""
    with hold_the_port_after() as port:
        return port


@contextlib.contextmanager
def hold_the_port_after() -> Iterator[int]:
    """A free port whose next one this holds, listening, for the ``with`` block."""
    while True:
        port = free_port()
        with socket.socket() as holder:
            try:
                holder.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            holder.listen()
            yield port
            return


def refused(*arguments: str) -> tuple[str, str]:
    """Run ``serve --workers 2`` expecting it to refuse: its one error line, all it wrote."""
    finished = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--workers", "2", *arguments],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    said = finished.stdout + finished.stderr
    assert finished.returncode == 2, said
    assert "Traceback" not in said
    lines = [line for line in said.splitlines() if line.startswith("logicblocks-event-store")]
    assert len(lines) == 1, said
    return lines[0], said


def test_memory_and_sqlite_storage_are_refused_with_the_reason(tmp_path: Path) -> None:
    line, _ = refused("--storage", "memory://")
    assert line.startswith(
        "logicblocks-event-store: --workers 2 needs postgresql:// storage: memory:// is "
    )
    database = tmp_path / "events.db"
    line, _ = refused("--storage", f"sqlite:///{database}")
    assert line.startswith(
        "logicblocks-event-store: --workers 2 needs postgresql:// storage: SQLite takes one "
    )
    assert not database.exists()


def test_a_worker_count_below_one_or_not_a_number_is_refused_naming_the_option() -> None:
    for value in ("0", "-3", "two"):
        finished = subprocess.run(
            [COMMAND, "serve", "--storage", "memory://", "--workers", value],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert finished.returncode == 2
        assert "Traceback" not in finished.stderr
        assert "argument --workers:" in finished.stderr.splitlines()[-1]
    finished = subprocess.run(
        [COMMAND, "serve", "--storage", "memory://"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "EVENT_STORE_WORKERS": "0"},
    )
    assert finished.returncode == 2
    assert finished.stderr.splitlines()[-1].endswith("argument --workers: must be at least 1")


def test_a_port_in_use_is_refused_once_by_the_supervisor(postgres_database: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        finished = subprocess.run(
            [
                COMMAND,
                "serve",
                "--listen",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--storage",
                postgres_database,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    assert finished.returncode == 2
    assert finished.stderr.count("logicblocks-event-store: ") == 1
    assert f"cannot listen on 127.0.0.1:{port}: address already in use\n" in finished.stderr
