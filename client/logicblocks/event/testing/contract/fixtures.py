"""The fixtures every contract class uses: a factory of fresh adapters, and its products."""

from collections.abc import Callable, Iterator

import pytest

from logicblocks.event.store import (
    EventStore,
)
from logicblocks.event.store.adapters import StorageAdapter

AdapterFactory = Callable[[], StorageAdapter]


class AdapterFixtures:
    """``adapter`` and ``store`` from the ``adapter_factory`` a subclass provides."""

    @pytest.fixture
    def adapter_factory(self) -> Iterator[AdapterFactory]:
        raise NotImplementedError("subclasses provide adapter_factory")

    @pytest.fixture
    def adapter(self, adapter_factory: AdapterFactory) -> StorageAdapter:
        return adapter_factory()

    @pytest.fixture
    def store(self, adapter: StorageAdapter) -> EventStore:
        return EventStore(adapter)
