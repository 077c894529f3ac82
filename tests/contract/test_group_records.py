"""The group records contract against every engine: in memory, SQLite and PostgreSQL.

SQLite and PostgreSQL give the contract two adapters on one file or one table, each with
its own connections, so the claim races are between what would be two servers.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from logicblocks.event.storage.groups.records import GroupRecords
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    InMemoryStorageAdapter,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
    TableParameters,
)
from logicblocks.event.testing.contract.group_records import GroupRecordsContract


class TestInMemoryGroupRecords(GroupRecordsContract):
    @pytest.fixture
    def group_records_pair(self) -> tuple[GroupRecords, GroupRecords]:
        # One process, one store: both handles are the same records.
        records = InMemoryStorageAdapter().group_records()
        return records, records


class TestSqliteGroupRecords(GroupRecordsContract):
    @pytest.fixture
    def group_records_pair(self, tmp_path: Path) -> Iterator[tuple[GroupRecords, GroupRecords]]:
        path = tmp_path / "events.db"
        first, second = SqliteStorageAdapter(path=path), SqliteStorageAdapter(path=path)
        yield first.group_records(), second.group_records()
        first.close()
        second.close()


class TestPostgresGroupRecords(GroupRecordsContract):
    @pytest.fixture
    def group_records_pair(self, postgres_url: str) -> Iterator[tuple[GroupRecords, GroupRecords]]:
        # A fresh table per test, opened by two adapters with a pool each.
        table = TableParameters(events_table_name=f"g_{uuid.uuid4().hex}")
        connection = ConnectionParameters.from_url(postgres_url)
        first, second = (
            PostgresStorageAdapter(connection_source=connection, table_parameters=table)
            for _ in range(2)
        )
        yield first.group_records(), second.group_records()
        first.close()
        second.close()
