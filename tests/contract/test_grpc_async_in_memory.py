"""The contract suite through gRPC: the asyncio client, a real server, the in-memory adapter.

The suite is blocking; ``BlockingAsyncGrpcAdapter`` runs the asyncio client on a loop of
its own so the same suite, not a parallel one, checks it.
"""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from logicblocks.event.store.adapters import InMemoryStorageAdapter
from tests.support.blocking_async_adapter import BlockingAsyncGrpcAdapter
from tests.support.grpc_server import running_server

from .suite import AdapterFactory, StorageAdapterContract, SubscriptionContract


class TestAsyncGrpcInMemoryStorageAdapter(StorageAdapterContract, SubscriptionContract):
    @pytest.fixture
    def adapter_factory(self) -> Iterator[AdapterFactory]:
        # A fresh server per call gives every call an empty store.
        with ExitStack() as stack:

            def make() -> BlockingAsyncGrpcAdapter:
                target = stack.enter_context(running_server(InMemoryStorageAdapter()))
                return stack.enter_context(BlockingAsyncGrpcAdapter(target=target))

            yield make
