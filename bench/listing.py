"""W7: listing categories and streams, and the summary, on a large store.

The store holds ``events`` events in ``streams`` streams of one category (the worst case
for a category's listing and for the category figures, which add up its streams), plus a
few small categories. The events go in with bulk SQL into the engine's own table, as
a store written before the streams table (schema version 1), and the engine's migration
then builds the streams table from them (timed too), not by publishing: this workload
measures the index's reads, and a million publishes would dominate the run.
Each operation is timed in process on the engine (``list_categories``, ``list_streams``,
``summary``), the median of a few repetitions.
"""

import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.storage.sqlite.times import to_microseconds
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
    TableParameters,
)

__all__ = ["CATEGORY", "fill_postgres", "fill_sqlite", "measure"]

CATEGORY = "listing"
# The server's largest page, plus the one row it reads to know whether another follows.
PAGE = 1001
_SMALL_CATEGORIES = 20
_PAYLOAD = '{"order":"o-123","amount":1234}'


def _stream(number: int) -> str:
    return f"s-{number:07d}"


def fill_postgres(url: str, events: int, streams: int) -> tuple[TableParameters, float]:
    """A table of ``events`` events over ``streams`` streams; and the seconds its migration
    to the streams table took.

    The events go in with bulk SQL under schema version 1 (the streams table dropped), and
    the adapter's own migration then builds the streams table from them, as it would for
    a store written before it.
    """
    table = TableParameters(events_table_name="listing_events")
    parameters = ConnectionParameters.from_url(url)
    PostgresStorageAdapter(connection_source=parameters, table_parameters=table).close()
    events_table = sql.Identifier(table.events_table_name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP TABLE {}").format(sql.Identifier(table.streams_table_name))
        )
        connection.execute(
            sql.SQL("DELETE FROM {} WHERE version > 1").format(
                sql.Identifier(table.schema_version_table_name)
            )
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {events} (sequence_number, id, name, category, stream, position,"
                " payload, observed_at, occurred_at)"
                " SELECT g, 'id-' || g, 'placed', {category},"
                " 's-' || lpad((g / {per})::text, 7, '0'), g % {per}, {payload}::json,"
                " now(), now() FROM generate_series(0, {total} - 1) AS g"
                " UNION ALL"
                " SELECT {total} + g, 'small-id-' || g, 'placed',"
                " 'small-' || lpad(g::text, 3, '0'), 's', 0, '{{}}'::json, now(), now()"
                " FROM generate_series(0, {small} - 1) AS g"
            ).format(
                events=events_table,
                category=sql.Literal(CATEGORY),
                per=sql.Literal(events // streams),
                payload=sql.Literal(_PAYLOAD),
                total=sql.Literal(events),
                small=sql.Literal(_SMALL_CATEGORIES),
            )
        )
        connection.execute(sql.SQL("VACUUM ANALYZE {}").format(events_table))
    started = time.perf_counter()
    PostgresStorageAdapter(connection_source=parameters, table_parameters=table).close()
    migrated = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table.streams_table_name))
        )
    return table, migrated


def _sqlite_rows(events: int, streams: int) -> Iterator[tuple[object, ...]]:
    per_stream = events // streams
    for number in range(events):
        stream = _stream(number // per_stream)
        yield (number, f"id-{number}", "placed", CATEGORY, stream, number % per_stream, _PAYLOAD)
    for number in range(_SMALL_CATEGORIES):
        yield (events + number, f"small-id-{number}", "placed", f"small-{number:03d}", "s", 0, "{}")


def fill_sqlite(path: Path, events: int, streams: int) -> float:
    """A file of ``events`` events over ``streams`` streams; returns the seconds its
    migration to the streams table took (made as for ``fill_postgres``)."""
    SqliteStorageAdapter(path=path).close()
    now = to_microseconds(datetime.now(UTC))
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute("DROP TABLE streams")
            connection.execute("PRAGMA user_version = 1")
            connection.executemany(
                "INSERT INTO events (sequence_number, id, name, category, stream, position,"
                f" payload, observed_at, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?, {now}, {now})",
                _sqlite_rows(events, streams),
            )
    finally:
        connection.close()
    started = time.perf_counter()
    SqliteStorageAdapter(path=path).close()
    migrated = time.perf_counter() - started
    connection = sqlite3.connect(path)
    try:
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return migrated


def _median_ms(work: Callable[[], object], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return [statistics.median(samples)]


def _list_every_stream(adapter: RecordStorageAdapter, expected: int) -> None:
    after: str | None = None
    listed = 0
    while True:
        page = adapter.list_streams(category=CATEGORY, after=after, limit=PAGE)[: PAGE - 1]
        listed += len(page)
        if len(page) < PAGE - 1:
            break
        after = page[-1].stream
    assert listed == expected, f"listed {listed} streams, expected {expected}"


def measure(adapter: RecordStorageAdapter, streams: int, repeats: int) -> dict[str, list[float]]:
    """Milliseconds of each operation (the median of ``repeats``), by name."""
    summary = adapter.summary()
    assert summary.streams == streams + _SMALL_CATEGORIES, summary
    deep = _stream(streams - 500)
    return {
        "summary (GetInfo)": _median_ms(adapter.summary, repeats),
        "list categories, first page": _median_ms(
            lambda: adapter.list_categories(limit=PAGE), repeats
        ),
        "list streams, first page of 1000": _median_ms(
            lambda: adapter.list_streams(category=CATEGORY, limit=PAGE), repeats
        ),
        "list streams, a page deep in the category": _median_ms(
            lambda: adapter.list_streams(category=CATEGORY, after=deep, limit=PAGE), repeats
        ),
        "list streams, by prefix (1000 of them)": _median_ms(
            lambda: adapter.list_streams(
                category=CATEGORY, prefix=_stream(streams // 2)[:-3], limit=PAGE
            ),
            repeats,
        ),
        f"list all {streams:,} streams, pages of 1000": _median_ms(
            lambda: _list_every_stream(adapter, streams), repeats
        ),
    }
