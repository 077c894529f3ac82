"""The command line, run as users run it: a subprocess, stopped with signals."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent
from tests.support.server_process import COMMAND, ServerProcess


def health(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "health", "--target", target, "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_from_the_environment_answers_and_stops_on_sigterm() -> None:
    env = {"EVENT_STORE_LISTEN": "127.0.0.1:0", "EVENT_STORE_STORAGE": "memory://"}
    with ServerProcess([COMMAND, "serve"], env=env) as server:
        assert any("storage=memory://" in line for line in server.lines)
        checked = health(server.target)
        assert (checked.returncode, checked.stdout.strip()) == (0, "SERVING")

        with GrpcStorageAdapter(target=server.target) as adapter:
            stream = EventStore(adapter).stream(category="cli", stream="s-1")
            stream.publish(events=[NewEvent(name="started", payload={"ok": True})])
            assert [e.name for e in stream.read()] == ["started"]

        server.signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert any("event=signal_received signal=SIGTERM" in line for line in server.lines)
    assert any("event=stopped" in line for line in server.lines)
    # Structured: every line the server wrote is one key=value event.
    assert all(re.match(r"time=\S+ level=\w+ logger=\S+ ", line) for line in server.lines)


def test_serve_with_flags_on_sqlite_keeps_events_across_a_sigint_restart(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path / 'events.db'}"
    command = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", storage]
    with ServerProcess(command) as server:
        with GrpcStorageAdapter(target=server.target) as adapter:
            EventStore(adapter).stream(category="cli", stream="s-1").publish(
                events=[NewEvent(name="kept", payload={"n": 2**60})]
            )
        server.signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0

    with ServerProcess(command) as server:
        with GrpcStorageAdapter(target=server.target) as adapter:
            (event,) = EventStore(adapter).stream(category="cli", stream="s-1").read()
        assert (event.name, event.payload) == ("kept", {"n": 2**60})


def test_health_of_an_absent_server_fails() -> None:
    # Port 1 is privileged and unused here: nothing answers.
    checked = health("127.0.0.1:1")
    assert checked.returncode == 1
    assert "unhealthy" in checked.stderr


def test_an_unknown_storage_url_is_refused_with_a_clear_message() -> None:
    finished = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "mongodb://nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "scheme must be memory://, sqlite:///path.db or postgresql://" in finished.stderr


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("postgresql://app:s3cret@127.0.0.1:1/events", "PostgreSQL is unavailable"),
        ("postgresql://app:s3cret@127.0.0.1:notaport/events", "port must be a number"),
        ("postgresql://app@127.0.0.1/events?bogus=1&password=s3cret", "libpq does not know"),
    ],
)
def test_a_postgresql_url_that_cannot_be_used_is_refused_with_a_clear_message(
    storage: str, message: str
) -> None:
    finished = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", storage],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout
    assert "s3cret" not in finished.stderr + finished.stdout


def test_a_bad_limit_in_the_environment_is_a_usage_error() -> None:
    finished = subprocess.run(
        [COMMAND, "serve", "--storage", "memory://"],
        env={**os.environ, "EVENT_STORE_MAX_EVENTS_PER_PUBLISH": "many"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "--max-events-per-publish" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_a_port_in_use_is_refused_with_a_clear_message() -> None:
    env = {"EVENT_STORE_LISTEN": "127.0.0.1:0", "EVENT_STORE_STORAGE": "memory://"}
    with ServerProcess([COMMAND, "serve"], env=env) as first:
        finished = subprocess.run(
            [COMMAND, "serve", "--listen", first.target, "--storage", "memory://"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 2
    assert f"cannot listen on {first.target}" in finished.stderr


def test_version_names_the_installed_distribution() -> None:
    # The distribution's own name: `logicblocks-event-store` on the package index is another
    # project, and installing that one would replace this command.
    shown = subprocess.run([COMMAND, "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0
    assert re.fullmatch(
        r"logicblocks-event-store \d+\.\d+\.\d+\S* \(logicblocks-event-store-server\)\n",
        shown.stdout,
    )
