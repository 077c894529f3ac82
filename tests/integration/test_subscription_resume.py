"""Subscriptions over gRPC survive the server going away: no event lost, none twice.

The subscriber's server runs as a subprocess. While a writer keeps publishing through
another adapter (a second server on the same PostgreSQL database, or a SQLite adapter on
the same file), the subscriber's server is killed (``kill -9``: the connection simply
breaks) or stopped gracefully (SIGTERM: the server ends the stream with ``UNAVAILABLE``),
and a new one is started on the same port and storage. The subscription must reconnect by
itself and resume after its checkpoint, delivering the final log exactly once.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    GrpcStorageAdapter,
    SqliteStorageAdapter,
    StorageAdapter,
)
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.transport.subscription import GrpcSubscription
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from tests.support.server_process import COMMAND, ServerProcess
from tests.support.stored_log import final_log
from tests.support.subscribers import Collector

TIMEOUT = 90.0
# Events the writer must publish while the subscriber's server is down, so the resumed
# subscription has a backlog to catch up.
WHILE_DOWN = 20


class Writer:
    """Publishes one event at a time through ``adapter`` until stopped; keeps what it stored."""

    def __init__(self, adapter: StorageAdapter):
        self.stored: list[StoredEvent] = []
        self.error: BaseException | None = None
        self._stream = EventStore(adapter).stream(category="orders", stream="o-1")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            number = 0
            while not self._stop.is_set():
                self.stored += self._stream.publish(
                    events=[NewEvent(name="placed", payload={"n": number})]
                )
                number += 1
        except BaseException as error:  # reported by the test
            self.error = error

    def stop(self) -> list[StoredEvent]:
        """Stop publishing; return every event the writer stored."""
        self._stop.set()
        self._thread.join(timeout=TIMEOUT)
        assert not self._thread.is_alive()
        assert self.error is None, f"the writer failed: {self.error!r}"
        return self.stored


@contextmanager
def writer_adapter(stack: ExitStack, storage_url: str, tmp_path: Path) -> Iterator[StorageAdapter]:
    """An adapter that is not the subscriber's server: a second server, or the SQLite file."""
    if storage_url.startswith("sqlite"):
        yield stack.enter_context(SqliteStorageAdapter(path=tmp_path / "events.db"))
        return
    second = stack.enter_context(
        ServerProcess([COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", storage_url])
    )
    yield stack.enter_context(GrpcStorageAdapter(target=second.target))


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_subscription_resumes_across_a_server_restart_exactly_once(
    storage_url: str, stop_signal: signal.Signals, tmp_path: Path
) -> None:
    serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", storage_url]
    with ExitStack() as stack:
        first = stack.enter_context(ServerProcess(serve))
        port = first.port
        client = stack.enter_context(GrpcStorageAdapter(target=first.target))
        subscription = client.subscribe(target=identifier.Log(), heartbeat_interval=1.0)
        assert isinstance(subscription, GrpcSubscription)
        collector = stack.enter_context(Collector(subscription, name="resumer"))
        with writer_adapter(stack, storage_url, tmp_path) as other:
            writer = Writer(other)
            assert wait_until(lambda: len(collector.events) >= 30, TIMEOUT)

            first.signal(stop_signal)
            first.wait(timeout=TIMEOUT)
            if stop_signal == signal.SIGTERM:
                # A graceful stop ends the stream itself (with UNAVAILABLE), not the socket.
                assert any(
                    "event=subscription_ended" in x and "reason=shutdown" in x for x in first.lines
                )
            written_at_stop = len(writer.stored)
            assert wait_until(
                lambda: len(writer.stored) >= written_at_stop + WHILE_DOWN or bool(writer.error),
                TIMEOUT,
            )
            seen_while_down = len(collector.events)

            restarted = [arg if arg != "127.0.0.1:0" else f"127.0.0.1:{port}" for arg in serve]
            stack.enter_context(ServerProcess(restarted))
            # The resumed subscription catches up on the backlog and follows live events.
            assert wait_until(lambda: len(collector.events) > seen_while_down + WHILE_DOWN, TIMEOUT)
            stored = writer.stop()

        log = final_log(storage_url, tmp_path)
        assert [e.id for e in log] == [e.id for e in stored]
        collector.wait_for_head(log[-1].sequence_number, TIMEOUT, count=len(log))
        assert subscription.reconnects >= 1
        seen = collector.events
        assert [e.sequence_number for e in seen] == list(range(len(log)))
        assert seen == log
