"""The contract suite through gRPC: the Python client, a real server, the SQLite adapter."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from logicblocks.event.store.adapters import GrpcStorageAdapter, SqliteStorageAdapter
from tests.support.grpc_server import running_server

from .suite import AdapterFactory, StorageAdapterContract, SubscriptionContract


class TestGrpcSqliteStorageAdapter(StorageAdapterContract, SubscriptionContract):
    @pytest.fixture
    def adapter_factory(self, tmp_path: Path) -> Iterator[AdapterFactory]:
        # Each call: a new file, a server in front of it, a client. The exit stack closes
        # them in reverse, so the server stops before its file is closed.
        with ExitStack() as stack:
            made = 0

            def make() -> GrpcStorageAdapter:
                nonlocal made
                made += 1
                storage = stack.enter_context(
                    SqliteStorageAdapter(path=tmp_path / f"store-{made}" / "events.db")
                )
                target = stack.enter_context(running_server(storage))
                return stack.enter_context(GrpcStorageAdapter(target=target))

            yield make
