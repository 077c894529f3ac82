"""The contract suite through gRPC: the Python client, a real server, the in-memory adapter."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from tests.support.grpc_server import running_server

from .suite import AdapterFactory, StorageAdapterContract, SubscriptionContract


class TestGrpcInMemoryStorageAdapter(StorageAdapterContract, SubscriptionContract):
    @pytest.fixture
    def adapter_factory(self) -> Iterator[AdapterFactory]:
        # A fresh server per call gives every call an empty store; starting one on
        # loopback takes milliseconds.
        with ExitStack() as stack:

            def make() -> GrpcStorageAdapter:
                target = stack.enter_context(running_server(InMemoryStorageAdapter()))
                return stack.enter_context(GrpcStorageAdapter(target=target))

            yield make
