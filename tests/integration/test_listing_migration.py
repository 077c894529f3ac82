"""A store written before the streams table (schema version 1) lists correctly once migrated.

The old store is made the way an older release left it: written by this code, then the
streams table dropped and the recorded schema version set back to 1, which is exactly the
version 1 schema holding the same events.
"""

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.store import EventStore, UnmetWriteConditionError, position_is
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.listing import StreamSummary
from logicblocks.event.types import NewEvent


def _fill(adapter: RecordStorageAdapter) -> None:
    store = EventStore(adapter)
    for index in range(30):
        store.stream(category=f"c{index % 3}", stream=f"s{index % 7}").publish(
            events=[NewEvent(name="n", payload={"i": index})] * (index % 4 + 1)
        )


def _listings(adapter: RecordStorageAdapter) -> tuple[object, ...]:
    return (
        adapter.list_categories(limit=100),
        [adapter.list_streams(category=f"c{index}", limit=100) for index in range(3)],
        adapter.summary(),
    )


def _streams_from_log(adapter: RecordStorageAdapter, category: str) -> list[StreamSummary]:
    last: dict[str, StreamSummary] = {}
    for record in adapter.read_records():
        if record.category == category:
            last[record.stream] = StreamSummary(
                category=category,
                stream=record.stream,
                last_position=record.position,
                last_sequence_number=record.sequence_number,
                last_observed_at=record.observed_at,
            )
    return [last[name] for name in sorted(last)]


def _check_migrated(adapter: RecordStorageAdapter, before: tuple[object, ...]) -> None:
    assert _listings(adapter) == before
    assert list(adapter.list_streams(category="c0", limit=100)) == _streams_from_log(adapter, "c0")
    # Publishes judge conditions from the migrated table.
    stream = EventStore(adapter).stream(category="c0", stream="s0")
    last = stream.read()[-1].position
    with pytest.raises(UnmetWriteConditionError):
        stream.publish(events=[NewEvent(name="n", payload={})], conditions={position_is(last - 1)})
    stream.publish(events=[NewEvent(name="n", payload={})], conditions={position_is(last)})
    assert adapter.list_streams(category="c0", prefix="s0", limit=1)[0].last_position == last + 1


def test_an_old_sqlite_store_lists_correctly_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    adapter = SqliteStorageAdapter(path=path)
    _fill(adapter)
    before = _listings(adapter)
    adapter.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE streams")
        connection.execute("PRAGMA user_version = 1")
    connection.close()

    migrated = SqliteStorageAdapter(path=path)
    try:
        _check_migrated(migrated, before)
    finally:
        migrated.close()


def test_an_old_postgres_table_lists_correctly_after_migrating(postgres_url: str) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    connection_parameters = ConnectionParameters.from_url(postgres_url)
    adapter = PostgresStorageAdapter(
        connection_source=connection_parameters, table_parameters=table
    )
    _fill(adapter)
    before = _listings(adapter)
    adapter.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP TABLE {}").format(sql.Identifier(table.streams_table_name))
        )
        connection.execute(
            sql.SQL("DELETE FROM {} WHERE version > 1").format(
                sql.Identifier(table.schema_version_table_name)
            )
        )

    migrated = PostgresStorageAdapter(
        connection_source=connection_parameters, table_parameters=table
    )
    try:
        _check_migrated(migrated, before)
    finally:
        migrated.close()
