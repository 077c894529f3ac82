"""The contract suite through gRPC: each Python client, a real server, the PostgreSQL adapter."""

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

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
    StorageAdapterContract,
    SubscriptionContract,
)
from tests.support.blocking_async_adapter import GrpcClient
from tests.support.grpc_server import running_server


class TestGrpcPostgresStorageAdapter(
    StorageAdapterContract, SubscriptionContract, ConsumerGroupContract
):
    @pytest.fixture
    def adapter_factory(
        self, postgres_url: str, grpc_client: GrpcClient
    ) -> Iterator[AdapterFactory]:
        # Each call: a fresh table, a server in front of it, a client. The exit stack closes
        # them in reverse, so the server stops before its adapter is closed.
        with ExitStack() as stack:

            def make() -> StorageAdapter:
                storage = stack.enter_context(
                    PostgresStorageAdapter(
                        connection_source=ConnectionParameters.from_url(postgres_url),
                        table_parameters=TableParameters(events_table_name=f"e_{uuid.uuid4().hex}"),
                    )
                )
                target = stack.enter_context(running_server(storage))
                return stack.enter_context(grpc_client(target))

            yield make
