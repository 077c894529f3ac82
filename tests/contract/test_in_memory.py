"""The contract suite against the in-memory adapter."""

from collections.abc import Iterator

import pytest

from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.testing.contract import (
    AdapterFactory,
    ConsumerGroupContract,
    ListingContract,
    RecordStorageContract,
    StorageAdapterContract,
    SubscriptionContract,
)


class TestInMemoryStorageAdapter(
    StorageAdapterContract,
    SubscriptionContract,
    RecordStorageContract,
    ListingContract,
    ConsumerGroupContract,
):
    @pytest.fixture
    def adapter_factory(self) -> Iterator[AdapterFactory]:
        yield InMemoryStorageAdapter
