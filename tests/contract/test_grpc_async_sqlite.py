"""The contract suite through gRPC: the asyncio client, a real server, the SQLite adapter.

The suite is blocking; ``BlockingAsyncGrpcAdapter`` runs the asyncio client on a loop of
its own so the same suite, not a parallel one, checks it.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from logicblocks.event.store.adapters import SqliteStorageAdapter
from tests.support.blocking_async_adapter import BlockingAsyncGrpcAdapter
from tests.support.grpc_server import running_server

from .suite import AdapterFactory, StorageAdapterContract, SubscriptionContract


class TestAsyncGrpcSqliteStorageAdapter(StorageAdapterContract, SubscriptionContract):
    @pytest.fixture
    def adapter_factory(self, tmp_path: Path) -> Iterator[AdapterFactory]:
        # Each call: a new file, a server in front of it, a client. The exit stack closes
        # them in reverse, so the server stops before its file is closed.
        with ExitStack() as stack:
            made = 0

            def make() -> BlockingAsyncGrpcAdapter:
                nonlocal made
                made += 1
                storage = stack.enter_context(
                    SqliteStorageAdapter(path=tmp_path / f"store-{made}" / "events.db")
                )
                target = stack.enter_context(running_server(storage))
                return stack.enter_context(BlockingAsyncGrpcAdapter(target=target))

            yield make
