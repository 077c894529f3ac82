"""The contract suite through gRPC: each Python client, a real server, the SQLite adapter."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from logicblocks.event.store.adapters import SqliteStorageAdapter, StorageAdapter
from logicblocks.event.testing.contract import (
    AdapterFactory,
    ConsumerGroupContract,
    StorageAdapterContract,
    SubscriptionContract,
)
from tests.support.blocking_async_adapter import GrpcClient
from tests.support.grpc_server import running_server


class TestGrpcSqliteStorageAdapter(
    StorageAdapterContract, SubscriptionContract, ConsumerGroupContract
):
    @pytest.fixture
    def adapter_factory(self, tmp_path: Path, grpc_client: GrpcClient) -> Iterator[AdapterFactory]:
        # Each call: a new file, a server in front of it, a client. The exit stack closes
        # them in reverse, so the server stops before its file is closed.
        with ExitStack() as stack:
            made = 0

            def make() -> StorageAdapter:
                nonlocal made
                made += 1
                storage = stack.enter_context(
                    SqliteStorageAdapter(path=tmp_path / f"store-{made}" / "events.db")
                )
                target = stack.enter_context(running_server(storage))
                return stack.enter_context(grpc_client(target))

            yield make
