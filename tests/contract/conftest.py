"""The gRPC contract modules run once per Python client: blocking and asyncio."""

import pytest

from logicblocks.event.store.adapters import GrpcStorageAdapter
from tests.support.blocking_async_adapter import BlockingAsyncGrpcAdapter, GrpcClient


@pytest.fixture(params=["blocking", "asyncio"])
def grpc_client(request: pytest.FixtureRequest) -> GrpcClient:
    """Makes a client of a server at a target: ``GrpcStorageAdapter``, or the asyncio
    ``AsyncGrpcStorageAdapter`` driven from a loop thread of its own, so the same suite
    (not a parallel one) checks both."""
    if request.param == "blocking":
        return lambda target: GrpcStorageAdapter(target=target)
    return lambda target: BlockingAsyncGrpcAdapter(target=target)
