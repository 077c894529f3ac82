"""A store written before consumer groups (schema version 3) opens, keeps its events and
keeps groups once migrated in place, on SQLite and on PostgreSQL.

The old store is a new one taken back to version 3: its group tables dropped and its
recorded version set back, which is exactly the version 3 schema holding the same events.
"""

import sqlite3
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.storage.groups.records import GroupDefinition, PartitionProgress
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.groups import FROM_BEGINNING, GroupSettings
from logicblocks.event.types import NewEvent, identifier

_DEFINITION = GroupDefinition(
    name="billing",
    target=identifier.Category(category="orders"),
    start=FROM_BEGINNING,
    start_after=-1,
    settings=GroupSettings(partitions=4),
)


def _publish(adapter: RecordStorageAdapter) -> list[str]:
    store = EventStore(adapter)
    for index in range(3):
        store.stream(category="orders", stream=f"o{index}").publish(
            events=[NewEvent(name="placed", payload={"i": index})]
        )
    return [event.id for event in store.log().read()]


def _check_groups_work(adapter: RecordStorageAdapter, ids: list[str]) -> None:
    assert [event.id for event in EventStore(adapter).log().read()] == ids
    records = adapter.group_records()
    assert records.all() == []
    records.create(_DEFINITION)
    assert records.claim(
        "billing", generation=0, partition=1, member="m", now=0.0, lease_until=10.0
    ) == PartitionProgress(1, -1)
    assert records.save(
        "billing", generation=0, member="m", progress=[PartitionProgress(1, 2)]
    ) == {1}
    assert records.progress("billing") == [PartitionProgress(1, 2)]


def test_a_version_3_sqlite_store_keeps_groups_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    adapter = SqliteStorageAdapter(path=path)
    ids = _publish(adapter)
    adapter.close()
    with sqlite3.connect(path) as connection:
        for table in ("consumer_groups", "group_members", "group_partitions", "group_parked"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("PRAGMA user_version = 3")
    connection.close()

    migrated = SqliteStorageAdapter(path=path)
    try:
        _check_groups_work(migrated, ids)
    finally:
        migrated.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 4
    connection.close()


def test_a_version_3_postgres_table_keeps_groups_after_migrating(postgres_url: str) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    parameters = ConnectionParameters.from_url(postgres_url)
    with PostgresStorageAdapter(connection_source=parameters, table_parameters=table) as old:
        ids = _publish(old)
    versions = sql.Identifier(table.schema_version_table_name)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for name in (
            table.groups_table_name,
            table.group_members_table_name,
            table.group_partitions_table_name,
            table.group_parked_table_name,
        ):
            connection.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("DELETE FROM {} WHERE version > 3").format(versions))

    with PostgresStorageAdapter(connection_source=parameters, table_parameters=table) as migrated:
        _check_groups_work(migrated, ids)
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute(
            sql.SQL("SELECT version FROM {} ORDER BY version").format(versions)
        ).fetchall()
    assert rows == [(1,), (2,), (3,), (4,)]
