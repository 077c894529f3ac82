"""Prometheus metrics at /metrics, scraped over HTTP and read with prometheus_client's parser."""

import re
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from logicblocks.event.storage.sqlite import SqliteStorageAdapter
from logicblocks.event.store import (
    EventStore,
    StorageUnavailableError,
    UnmetWriteConditionError,
    stream_is_empty,
)
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    GrpcStorageAdapter,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.grpc_server import running_event_store_server
from tests.support.server_process import COMMAND, ServerProcess
from tests.support.subscribers import Collector

_METRICS_LISTENING = re.compile(r"event=metrics_listening address=\S+ port=(\d+)")
_SERVICE = "logicblocks.event.v1.EventStore"
SERVE_IN_MEMORY = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample at ``/metrics``, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def counted(port: int, method: str, code: str, expected: int) -> bool:
    """Whether the call-duration histogram counts ``expected`` calls of ``method`` ending in
    ``code``, waiting for it: a call is timed once its answer has gone, so a client can hold
    the answer before the server has counted it."""
    return wait_until(lambda: rpc_count(scrape(port), method, code) == expected, 30)


def rpc_count(samples: Samples, method: str, code: str) -> float:
    return value(
        samples, "eventstore_rpc_duration_seconds_count", service=_SERVICE, method=method, code=code
    )


@pytest.fixture
def server() -> Iterator[tuple[ServerProcess, int]]:
    """``logicblocks-event-store serve --metrics-listen``: the process and its metrics port."""
    with ServerProcess([*SERVE_IN_MEMORY, "--metrics-listen", "127.0.0.1:0"]) as process:
        port = int(process.wait_for_line(_METRICS_LISTENING, 30).group(1))
        yield process, port


def test_metrics_move_with_publishes_and_subscriptions(
    server: tuple[ServerProcess, int],
) -> None:
    process, port = server
    before = scrape(port)
    assert value(before, "eventstore_events_published_total") == 0
    assert value(before, "eventstore_subscriptions_active") == 0
    assert value(before, "eventstore_log_head_sequence_number") == -1
    assert value(before, "eventstore_storage_errors_total", kind="unavailable") == 0

    with GrpcStorageAdapter(target=process.target) as adapter:
        store = EventStore(adapter)
        stream = store.stream(category="orders", stream="o-1")
        stored = stream.publish(
            events=[NewEvent(name="placed", payload={"n": n}) for n in range(3)]
        )
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(
                events=[NewEvent(name="again", payload={})], conditions={stream_is_empty()}
            )

        after_publish = scrape(port)
        assert value(after_publish, "eventstore_events_published_total") == 3
        assert value(after_publish, "eventstore_publish_group_size_count") == 1
        assert value(after_publish, "eventstore_publish_group_size_sum") == 3
        assert counted(port, "Publish", "OK", 1)
        assert counted(port, "Publish", "FAILED_PRECONDITION", 1)
        # The log tail learns the head from the engine's signal, not from the publish.
        last = stored[-1].sequence_number
        assert wait_until(
            lambda: value(scrape(port), "eventstore_log_head_sequence_number") == last, 30
        )

        collector = Collector(store.category(category="orders").subscribe())
        try:
            assert wait_until(lambda: len(collector.events) == 3, 30), collector.error
            assert value(scrape(port), "eventstore_subscriptions_active") == 1
        finally:
            collector.subscription.close()
        assert wait_until(lambda: value(scrape(port), "eventstore_subscriptions_active") == 0, 30)
        # A streaming call is timed when its stream ends: here, cancelled by the client.
        assert wait_until(lambda: rpc_count(scrape(port), "Subscribe", "CANCELLED") == 1, 30)

    process.signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_publish_group_size_on_postgresql_counts_each_commit(postgres_url: str) -> None:
    table = TableParameters(events_table_name="metrics_groups")
    with (
        PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
        ) as storage,
        running_event_store_server(storage, metrics_listen="127.0.0.1:0") as running,
        GrpcStorageAdapter(target=f"127.0.0.1:{running.port}") as adapter,
    ):
        assert running.metrics_port is not None
        stream = EventStore(adapter).stream(category="groups", stream="g-1")
        first = [NewEvent(name="e", payload={"n": n}, id=f"id-{n}") for n in range(4)]
        stream.publish(events=first)
        stream.publish(events=[NewEvent(name="e", payload={})])
        # A retried publish (ids already stored) writes nothing and commits nothing.
        stream.publish(events=first)

        samples = scrape(running.metrics_port)
        assert value(samples, "eventstore_events_published_total") == 5
        assert value(samples, "eventstore_publish_group_size_count") == 2
        assert value(samples, "eventstore_publish_group_size_sum") == 5
        assert value(samples, "eventstore_publish_group_size_bucket", le="1.0") == 1
        assert counted(running.metrics_port, "Publish", "OK", 3)


def test_storage_failures_are_counted(tmp_path: Path) -> None:
    storage = SqliteStorageAdapter(path=tmp_path / "events.db")
    with (
        running_event_store_server(storage, metrics_listen="127.0.0.1:0") as running,
        # One attempt: the client would otherwise retry an unavailable store.
        GrpcStorageAdapter(target=f"127.0.0.1:{running.port}", attempts=1) as adapter,
    ):
        assert running.metrics_port is not None
        # A real failure of the storage: the SQLite engine closed under the server.
        storage.close()
        with pytest.raises((StorageUnavailableError, grpc.RpcError)):
            EventStore(adapter).stream(category="c", stream="s").publish(
                events=[NewEvent(name="lost", payload={})]
            )
        samples = scrape(running.metrics_port)
        assert value(samples, "eventstore_storage_errors_total", kind="unavailable") >= 1
        assert counted(running.metrics_port, "Publish", "UNAVAILABLE", 1)
        assert value(samples, "eventstore_events_published_total") == 0


def test_a_metrics_port_in_use_is_one_line_at_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        finished = subprocess.run(
            [*SERVE_IN_MEMORY, "--metrics-listen", address],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 2
    assert (
        f"logicblocks-event-store: cannot serve metrics on {address}: address already in use\n"
        in finished.stderr
    )
    assert "Traceback" not in finished.stderr


def test_a_malformed_metrics_address_is_an_argument_error() -> None:
    finished = subprocess.run(
        [COMMAND, "serve", "--metrics-listen", "9464"], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2
    assert "--metrics-listen" in finished.stderr
    assert "must be HOST:PORT" in finished.stderr
