"""The contract suite through gRPC: each Python client, a real server, the in-memory adapter."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from logicblocks.event.store.adapters import InMemoryStorageAdapter, StorageAdapter
from logicblocks.event.testing.contract import (
    AdapterFactory,
    ConsumerGroupContract,
    StorageAdapterContract,
    SubscriptionContract,
)
from tests.support.blocking_async_adapter import GrpcClient
from tests.support.grpc_server import running_server


class TestGrpcInMemoryStorageAdapter(
    StorageAdapterContract, SubscriptionContract, ConsumerGroupContract
):
    @pytest.fixture
    def adapter_factory(self, grpc_client: GrpcClient) -> Iterator[AdapterFactory]:
        # A fresh server per call gives every call an empty store; starting one on
        # loopback takes milliseconds.
        with ExitStack() as stack:

            def make() -> StorageAdapter:
                target = stack.enter_context(running_server(InMemoryStorageAdapter()))
                return stack.enter_context(grpc_client(target))

            yield make
