"""The contract suite against the PostgreSQL adapter, on the session's throwaway cluster."""

import uuid
from collections.abc import Iterator

import pytest

from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    StorageAdapter,
    TableParameters,
)
from logicblocks.event.testing.contract import (
    AdapterFactory,
    ConsumerGroupContract,
    ListingContract,
    RecordStorageContract,
    StorageAdapterContract,
    SubscriptionContract,
)


class TestPostgresStorageAdapter(
    StorageAdapterContract,
    SubscriptionContract,
    RecordStorageContract,
    ListingContract,
    ConsumerGroupContract,
):
    @pytest.fixture
    def adapter_factory(self, postgres_url: str) -> Iterator[AdapterFactory]:
        made: list[StorageAdapter] = []

        def make() -> StorageAdapter:
            # A fresh table per adapter: empty, and nothing shared with other tests.
            adapter = PostgresStorageAdapter(
                connection_source=ConnectionParameters.from_url(postgres_url),
                table_parameters=TableParameters(events_table_name=f"e_{uuid.uuid4().hex}"),
            )
            made.append(adapter)
            return adapter

        yield make
        for adapter in made:
            adapter.close()
