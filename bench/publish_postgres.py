"""Publish throughput of the PostgreSQL adapter against raw psycopg, in the same run.

    .venv/bin/python -m bench.publish_postgres [--url postgresql://...] [--quick]

Without ``--url`` it starts a throwaway cluster (``tests/support/postgres.py``) with
PostgreSQL's default, durable settings (``fsync`` on), since the cost of a commit is what
group commit saves. For batches of 1 and of 100 events, with one writer thread and with
several, it measures events/s through ``EventStore`` on the adapter and through raw psycopg
inserting the same rows into a table of the same shape (same columns and indexes, the
sequence number from a ``bigserial``, positions counted by each writer): the batch of 100
in one transaction with ``executemany``, the batch of 1 one row per transaction. Raw
psycopg does none of the adapter's work (validation, conditions, the lock, the global
order), so it is the limit the adapter approaches. It prints each pair and their ratio.
"""

import argparse
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.types import NewEvent
from tests.support.postgres import PostgresCluster

from .timing import run_threads

__all__ = ["main"]

_PAYLOAD = {"order": "o-123", "amount": 1234, "lines": [{"sku": "a", "qty": 2}], "note": "x" * 40}


@dataclass(frozen=True)
class Scenario:
    """One measurement: ``writers`` threads each making ``publishes`` publishes of ``batch``."""

    batch: int
    writers: int
    publishes: int

    @property
    def events(self) -> int:
        return self.batch * self.writers * self.publishes


def measure_adapter(url: str, scenario: Scenario) -> float:
    """Events/s publishing through ``EventStore`` on the PostgreSQL adapter."""
    table = TableParameters(events_table_name=f"bench_{uuid.uuid4().hex[:12]}")
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(url),
        table_parameters=table,
        max_pool_size=max(4, scenario.writers),
    ) as adapter:
        store = EventStore(adapter)

        def work(index: int) -> None:
            stream = store.stream(category="bench", stream=f"writer-{index}")
            for _ in range(scenario.publishes):
                stream.publish(
                    events=[
                        NewEvent(name="measured", payload=_PAYLOAD) for _ in range(scenario.batch)
                    ]
                )

        elapsed = run_threads(scenario.writers, work)
        assert sum(1 for _ in adapter.scan()) == scenario.events
    return scenario.events / elapsed


def _create_raw_table(url: str) -> sql.Identifier:
    name = f"raw_{uuid.uuid4().hex[:12]}"
    table = sql.Identifier(name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL(
                "CREATE TABLE {} (sequence_number bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
                " name text NOT NULL, category text NOT NULL, stream text NOT NULL,"
                " position bigint NOT NULL, payload json NOT NULL,"
                " observed_at timestamptz NOT NULL, occurred_at timestamptz NOT NULL,"
                " UNIQUE (category, stream, position))"
            ).format(table)
        )
        connection.execute(
            sql.SQL("CREATE INDEX {} ON {} (category, sequence_number)").format(
                sql.Identifier(f"{name}_category"), table
            )
        )
    return table


def measure_raw(url: str, scenario: Scenario) -> float:
    """Events/s inserting the same rows with raw psycopg (the limit we approach)."""
    table = _create_raw_table(url)
    insert = sql.SQL(
        "INSERT INTO {} (id, name, category, stream, position, payload, observed_at,"
        " occurred_at) VALUES (%s, %s, %s, %s, %s, %s::json, %s, %s)"
    ).format(table)
    connections = [psycopg.connect(url) for _ in range(scenario.writers)]
    try:

        def work(index: int) -> None:
            connection = connections[index]
            stream = f"writer-{index}"
            position = 0
            for _ in range(scenario.publishes):
                now = datetime.now(UTC)
                rows = [
                    (
                        str(uuid.uuid4()),
                        "measured",
                        "bench",
                        stream,
                        position + offset,
                        json.dumps(_PAYLOAD, separators=(",", ":")),
                        now,
                        now,
                    )
                    for offset in range(scenario.batch)
                ]
                with connection.transaction(), connection.cursor() as cursor:
                    if len(rows) == 1:
                        cursor.execute(insert, rows[0])
                    else:
                        cursor.executemany(insert, rows)
                position += scenario.batch

        return scenario.events / run_threads(scenario.writers, work)
    finally:
        for connection in connections:
            connection.close()


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    # Durable defaults: a commit waits for its WAL flush, as in production.
    with PostgresCluster(settings={"max_connections": "200"}) as cluster:
        yield cluster.url


def main() -> None:
    """Measure and print every scenario's adapter and raw throughput and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="an existing database to use instead of a throwaway one")
    parser.add_argument("--quick", action="store_true", help="fewer publishes (a smoke run)")
    parser.add_argument("--writers", type=int, default=8, help="threads in the concurrent runs")
    arguments = parser.parse_args()
    scale = 10 if arguments.quick else 1
    scenarios = [
        Scenario(batch=1, writers=1, publishes=2000 // scale),
        Scenario(batch=100, writers=1, publishes=200 // scale),
        Scenario(batch=1, writers=arguments.writers, publishes=500 // scale),
        Scenario(batch=100, writers=arguments.writers, publishes=50 // scale),
    ]
    with _database(arguments.url) as url:
        print(f"{'batch':>5} {'writers':>7} {'adapter ev/s':>13} {'raw ev/s':>10} {'ratio':>6}")
        for scenario in scenarios:
            # Raw first, then the adapter, each on a fresh table; a warm-up of each is
            # not needed at these sizes, the first publishes are a small share.
            raw = measure_raw(url, scenario)
            adapter = measure_adapter(url, scenario)
            print(
                f"{scenario.batch:>5} {scenario.writers:>7} {adapter:>13,.0f} {raw:>10,.0f}"
                f" {adapter / raw:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
