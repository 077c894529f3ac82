"""The contract suite against the SQLite adapter, each adapter on a new file."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.testing.contract import (
    AdapterFactory,
    ConsumerGroupContract,
    ListingContract,
    RecordStorageContract,
    StorageAdapterContract,
    SubscriptionContract,
)


class TestSqliteStorageAdapter(
    StorageAdapterContract,
    SubscriptionContract,
    RecordStorageContract,
    ListingContract,
    ConsumerGroupContract,
):
    @pytest.fixture
    def adapter_factory(self, tmp_path: Path) -> Iterator[AdapterFactory]:
        made: list[SqliteStorageAdapter] = []

        def factory() -> SqliteStorageAdapter:
            adapter = SqliteStorageAdapter(path=tmp_path / f"store-{len(made)}" / "events.db")
            made.append(adapter)
            return adapter

        yield factory
        for adapter in made:
            adapter.close()
